"""A model's OpenAPI schema, reduced to what the runner needs: its inputs and the kind of output."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .problems import did_you_mean, show_value

OutputKind = Literal["text", "iterator", "file", "files", "json", "unknown"]

MAX_CHOICES_SHOWN = 12
_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


@dataclass(frozen=True)
class Mismatch:
    """Why a value does not fit an input: `what` reads the same for every wrong value, `hint` says what to do.

    Messages are built as "`steps` = 80 {what}{hint}", so `hint` starts with ": " or " (".
    """

    what: str
    hint: str = ""


@dataclass(frozen=True)
class InputField:
    """One input of a model as its schema describes it."""

    name: str
    type: str | None  # "string", "integer", "number", "boolean", "array", "object" or None
    is_file: bool
    required: bool
    default: Any = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    items: InputField | None = None  # what an array holds, when the schema says
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def is_file_list(self) -> bool:
        """Whether this input is a list of files (`type: array`, items `format: uri`)."""
        return self.type == "array" and self.items is not None and self.items.is_file

    def convert(self, value: Any) -> Any:
        """Convert a CSV string to this field's type; other values are returned unchanged."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            if self.type == "integer":
                number = float(text)
                return int(number) if number.is_integer() else value
            if self.type == "number":
                return float(text)
            if self.type == "boolean" and text.lower() in _BOOLEAN_WORDS:
                return _BOOLEAN_WORDS[text.lower()]
            if self.type in ("array", "object"):
                return json.loads(text)
        except ValueError:
            return value
        return value

    def check(self, value: Any) -> Mismatch | None:
        """What is wrong with `value` for this field, or None. Files are checked by the preflight."""
        if value is None:
            if self.nullable or self.type is None:
                return None
            return Mismatch("is not allowed", ": leave the field out to use the model's default")
        if self.type in _TYPE_WORDS and not _fits(self.type, value):
            return Mismatch(f"is not {_TYPE_WORDS[self.type]}", _type_hint(self.type, value))
        if self.enum is not None and value not in self.enum:
            return self._enum_mismatch(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return Mismatch(f"is below the minimum {_number(self.minimum)}")
            if self.maximum is not None and value > self.maximum:
                return Mismatch(f"is above the maximum {_number(self.maximum)}")
        if isinstance(value, str):
            return self._text_mismatch(value)
        if isinstance(value, (list, tuple)) and self.items is not None and not self.items.is_file:
            for index, item in enumerate(value):
                found = self.items.check(item)
                if found:
                    return Mismatch(
                        f"has an item ([{index}] = {show_value(item)}) that {found.what}", found.hint
                    )
        return None

    def _enum_mismatch(self, value: Any) -> Mismatch:
        assert self.enum is not None
        shown = ", ".join(show_value(v) for v in self.enum[:MAX_CHOICES_SHOWN])
        if len(self.enum) > MAX_CHOICES_SHOWN:
            shown += f" and {len(self.enum) - MAX_CHOICES_SHOWN} more"
        hint = ""
        if isinstance(value, str):
            texts = [v for v in self.enum if isinstance(v, str)]
            same_but_case = [v for v in texts if v.lower() == value.strip().lower()]
            if same_but_case:
                hint = f" (did you mean {show_value(same_but_case[0])}?)"
            else:
                hint = did_you_mean(value, texts).replace("`", "'")
        return Mismatch(f"is not one of {shown}", hint)

    def _text_mismatch(self, value: str) -> Mismatch | None:
        if self.min_length is not None and len(value) < self.min_length:
            return Mismatch(f"is shorter than the minimum {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            return Mismatch(f"is longer than the maximum {self.max_length} characters")
        if self.pattern is not None:
            try:
                matches = re.search(self.pattern, value) is not None
            except re.error:
                return None  # a pattern Python cannot read is left to the server
            if not matches:
                return Mismatch(f"does not match the pattern {self.pattern}")
        return None


_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _fits(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":
        # JSON Schema (and Replicate's validator) counts 4.0 as an integer.
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, (list, tuple))
    return isinstance(value, Mapping)


def _type_hint(kind: str, value: Any) -> str:
    """What to write instead, for the mistakes YAML and CSV invite."""
    if isinstance(value, str):
        text = value.strip()
        if kind in ("integer", "number") and _fits(kind, InputField("", kind, False, False).convert(text)):
            return ": write numbers without quotes"
        if kind == "boolean" and text.lower() in _BOOLEAN_WORDS:
            return ": write true or false without quotes"
        if kind == "array":
            return ': write a list such as ["a", "b"] (in a CSV cell too)'
        if kind == "object":
            return ': write a mapping such as {"key": "value"} (in a CSV cell too)'
    if kind == "string" and isinstance(value, (int, float, bool)):
        return ": put it in quotes"
    return ""


@dataclass(frozen=True)
class ModelSchema:
    """Inputs and output kind of one model; `inputs` is None when the model has no schema."""

    inputs: Mapping[str, InputField] | None
    output: OutputKind

    @property
    def is_checked(self) -> bool:
        """Whether inputs can be checked against a schema."""
        return self.inputs is not None

    def accepts(self, name: str) -> bool:
        """Whether the model takes an input of this name (always, without a schema)."""
        return self.inputs is None or name in self.inputs


UNCHECKED = ModelSchema(inputs=None, output="unknown")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _resolve(node: Any, components: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `$ref` and `allOf` indirections into one flat schema dict."""
    if not isinstance(node, Mapping):
        return {}
    merged: dict[str, Any] = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        target = components.get(ref.rsplit("/", 1)[-1], {})
        merged = {**_resolve(target, components), **merged}
    for part in node.get("allOf") or []:
        merged = {**_resolve(part, components), **merged}
    return merged


def _without_null(flat: dict[str, Any], components: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Unwrap `anyOf: [X, {type: null}]` and `type: [X, "null"]`; also says whether null is allowed."""
    nullable = bool(flat.get("nullable") or flat.get("x-nullable"))
    kind = flat.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        nullable = nullable or len(kinds) < len(kind)
        flat = {**flat, "type": kinds[0] if len(kinds) == 1 else None}
    for key in ("anyOf", "oneOf"):
        variants = flat.get(key)
        if not isinstance(variants, list):
            continue
        options = [_resolve(v, components) for v in variants]
        kept = [o for o in options if o.get("type") != "null"]
        nullable = nullable or len(kept) < len(options)
        rest = {k: v for k, v in flat.items() if k != key}
        # With one real alternative it is that type; with several the value is left to the server.
        flat = {**kept[0], **rest} if len(kept) == 1 else {**rest, "type": None}
    return flat, nullable


def _input_field(name: str, node: Any, required: bool, components: Mapping[str, Any]) -> InputField:
    flat, nullable = _without_null(_resolve(node, components), components)
    items = flat.get("items")
    kind = flat.get("type")
    return InputField(
        name=name,
        type=kind if isinstance(kind, str) else None,
        is_file=flat.get("format") == "uri",
        required=required,
        default=flat.get("default"),
        enum=tuple(flat["enum"]) if isinstance(flat.get("enum"), list) else None,
        minimum=_bound(flat.get("minimum")),
        maximum=_bound(flat.get("maximum")),
        nullable=nullable,
        items=_input_field(f"{name}[]", items, False, components) if isinstance(items, Mapping) else None,
        min_length=_length(flat.get("minLength")),
        max_length=_length(flat.get("maxLength")),
        pattern=flat.get("pattern") if isinstance(flat.get("pattern"), str) else None,
    )


def _bound(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _length(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_schema(openapi: Mapping[str, Any] | None) -> ModelSchema:
    """Read `components.schemas.Input` and `.Output` of a Cog/Replicate OpenAPI schema."""
    if not openapi:
        return UNCHECKED
    components = openapi.get("components", {}).get("schemas", {})
    input_schema = components.get("Input")
    inputs: dict[str, InputField] | None = None
    if isinstance(input_schema, Mapping):
        required = set(input_schema.get("required") or [])
        inputs = {
            name: _input_field(name, prop, name in required, components)
            for name, prop in (input_schema.get("properties") or {}).items()
        }
    return ModelSchema(inputs=inputs, output=_output_kind(components.get("Output"), components))


def _output_kind(node: Any, components: Mapping[str, Any]) -> OutputKind:
    flat = _resolve(node, components)
    if not flat:
        return "unknown"
    kind = flat.get("type")
    if kind == "string":
        return "file" if flat.get("format") == "uri" else "text"
    if kind == "array":
        items = _resolve(flat.get("items"), components)
        if items.get("format") == "uri":
            return "files"
        if flat.get("x-cog-array-type") == "iterator" and items.get("type") == "string":
            return "iterator"
        return "json"
    return "json" if kind else "unknown"
