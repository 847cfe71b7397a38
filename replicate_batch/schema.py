"""A model's OpenAPI schema, reduced to what the runner needs: its inputs and the kind of output."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

OutputKind = Literal["text", "iterator", "file", "files", "json", "unknown"]


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
            if self.type == "boolean" and text.lower() in ("true", "false", "1", "0", "yes", "no"):
                return text.lower() in ("true", "1", "yes")
            if self.type in ("array", "object"):
                return json.loads(text)
        except ValueError:
            return value
        return value

    def check(self, value: Any) -> str | None:
        """What is wrong with `value` for this field, or None."""
        if value is None:
            return None if not self.required else "is required"
        expected = {
            "string": (str,),
            "integer": (int,),
            "number": (int, float),
            "boolean": (bool,),
            "array": (list, tuple),
            "object": (dict,),
        }.get(self.type or "")
        if expected and (
            not isinstance(value, expected) or (self.type != "boolean" and isinstance(value, bool))
        ):
            return f"= {value!r} is not of type {self.type}"
        if self.enum is not None and value not in self.enum:
            return f"= {value!r} is not one of {', '.join(repr(v) for v in self.enum)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"= {value!r} is below the minimum {_number(self.minimum)}"
            if self.maximum is not None and value > self.maximum:
                return f"= {value!r} is above the maximum {_number(self.maximum)}"
        return None


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


def parse_schema(openapi: Mapping[str, Any] | None) -> ModelSchema:
    """Read `components.schemas.Input` and `.Output` of a Cog/Replicate OpenAPI schema."""
    if not openapi:
        return UNCHECKED
    components = openapi.get("components", {}).get("schemas", {})
    input_schema = components.get("Input")
    inputs: dict[str, InputField] | None = None
    if isinstance(input_schema, Mapping):
        required = set(input_schema.get("required") or [])
        inputs = {}
        for name, prop in (input_schema.get("properties") or {}).items():
            flat = _resolve(prop, components)
            inputs[name] = InputField(
                name=name,
                type=flat.get("type"),
                is_file=flat.get("format") == "uri",
                required=name in required,
                default=flat.get("default"),
                enum=tuple(flat["enum"]) if isinstance(flat.get("enum"), list) else None,
                minimum=flat.get("minimum"),
                maximum=flat.get("maximum"),
            )
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
