"""A model's OpenAPI schema, reduced to what the runner needs: its inputs and the kind of output.

Values are checked by `jsonschema` (Draft 2020-12, as Replicate counts 4.0 as an integer) against each
input's own schema, with its `#/components/schemas/` references written in; this module turns the
first error into our wording and a hint. `jsonschema` takes ~0.2 s to import, so it is loaded by the
first check, not with the package.

Over 300 lines because reading a field and judging its values share the field's view (its type words,
CSV conversion and hints); judging (`_validator_class` to `_readable`) could move to a module of its own.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from .spec.problems import did_you_mean, show_value

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

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
    # The input's JSON schema with its references written in: what `check` validates against.
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

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
            # Cog marks optional inputs `nullable` (OpenAPI 3.0), which JSON Schema does not read.
            if self.nullable or self.type is None:
                return None
            return Mismatch("is not allowed", ": leave the field out to use the model's default")
        # Rows repeat values (seeds, choices, counts): each distinct one is validated once.
        key = (type(value), value) if isinstance(value, (str, int, float)) else None
        if key is not None and key in self._verdicts:
            return self._verdicts[key]
        errors = list(self._validator.iter_errors(value))
        verdict = _mismatch(errors) if errors else None
        if key is not None and len(self._verdicts) < _MAX_VERDICTS:
            self._verdicts[key] = verdict
        return verdict

    @functools.cached_property
    def _validator(self) -> Validator:
        validator = _validator_class()
        return validator(_readable(validator, self.schema))

    @functools.cached_property
    def _verdicts(self) -> dict[tuple[object, object], Mismatch | None]:
        return {}


_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_MAX_VERDICTS = 10_000


@functools.cache
def _validator_class() -> type[Validator]:
    """Draft 2020-12 where lists may be tuples, mappings any Mapping, and odd patterns go unchecked."""
    import jsonschema  # ~0.2 s: loaded by the first check, not with the package

    def pattern(validator: Any, regex: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if not isinstance(instance, str) or not isinstance(regex, str):
            return
        try:
            matches = re.search(regex, instance) is not None
        except re.error:
            return  # a pattern Python cannot read is left to the server
        if not matches:
            yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")

    base = jsonschema.Draft202012Validator
    types = base.TYPE_CHECKER.redefine_many(
        {
            "array": lambda _checker, value: isinstance(value, (list, tuple)),
            "object": lambda _checker, value: isinstance(value, Mapping),
        }
    )
    extended = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # untyped in the stubs
        base, validators={"pattern": pattern}, type_checker=types
    )
    return cast("type[Validator]", extended)


# Which of several errors on one value is reported: the value's kind first, then its range.
_KEYWORD_ORDER = (
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "required",
    "additionalProperties",
)


def _mismatch(errors: Sequence[ValidationError]) -> Mismatch:
    """The first error (outermost, then by `_KEYWORD_ORDER`) in our words; item errors say which item."""

    def order(error: ValidationError) -> tuple[int, int]:
        keyword = str(error.validator)
        rank = _KEYWORD_ORDER.index(keyword) if keyword in _KEYWORD_ORDER else len(_KEYWORD_ORDER)
        return len(error.absolute_path), rank

    error = min(errors, key=order)
    if error.validator in ("anyOf", "oneOf") and error.context:
        # `anyOf: [X, {type: null}]` is how an optional X is written: report what is wrong for X.
        kept = [e for e in error.context if not _is_null_branch(error.validator_value, e)]
        if kept and len({e.relative_schema_path[0] for e in kept}) == 1:
            return _mismatch(kept)
    found = _words(error)
    path = list(error.absolute_path)
    if not path:
        return found
    where = "".join(f"[{part}]" if isinstance(part, int) else f"[{json.dumps(part)}]" for part in path)
    noun = "an item" if all(isinstance(part, int) for part in path) else "a value"
    return Mismatch(f"has {noun} ({where} = {show_value(error.instance)}) that {found.what}", found.hint)


def _is_null_branch(variants: Any, error: ValidationError) -> bool:
    index = error.relative_schema_path[0]
    variant = variants[index] if isinstance(variants, list) and isinstance(index, int) else None
    return isinstance(variant, Mapping) and variant.get("type") == "null"


def _words(error: ValidationError) -> Mismatch:
    """One error about the value it is about (`error.instance`), as `Mismatch` reads."""
    keyword, value = error.validator, error.instance
    expected: Any = error.validator_value
    if keyword == "type":
        kinds = [k for k in (expected if isinstance(expected, list) else [expected]) if k != "null"]
        words = " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
        return Mismatch(f"is not {words}", _type_hint(kinds[0], value) if len(kinds) == 1 else "")
    if keyword == "enum":
        return _enum_mismatch(expected, value)
    if keyword == "const":
        return Mismatch(f"is not {show_value(expected)}")
    numbers = {
        "minimum": "is below the minimum",
        "maximum": "is above the maximum",
        "exclusiveMinimum": "is not above",
        "exclusiveMaximum": "is not below",
        "multipleOf": "is not a multiple of",
    }
    if keyword in numbers:
        return Mismatch(f"{numbers[keyword]} {_number(expected)}")
    counts = {
        "minLength": ("is shorter than the minimum", "characters"),
        "maxLength": ("is longer than the maximum", "characters"),
        "minItems": ("has fewer than the minimum", "items"),
        "maxItems": ("has more than the maximum", "items"),
        "minProperties": ("has fewer than the minimum", "keys"),
        "maxProperties": ("has more than the maximum", "keys"),
    }
    if keyword in counts:
        words, unit = counts[keyword]
        return Mismatch(f"{words} {expected} {unit}")
    if keyword == "pattern":
        return Mismatch(f"does not match the pattern {expected}")
    if keyword == "uniqueItems":
        return Mismatch("has repeated items")
    if keyword == "required" and isinstance(value, Mapping):
        missing = ", ".join(f"`{k}`" for k in expected if k not in value)
        return Mismatch(f"lacks the required key {missing}")
    if keyword == "additionalProperties" and isinstance(value, Mapping):
        schema: Any = error.schema
        known = schema.get("properties") or {}
        extra = ", ".join(f"`{k}`" for k in value if k not in known)
        return Mismatch(f"has a key the schema does not list ({extra})")
    if keyword in ("anyOf", "oneOf"):
        return Mismatch("fits none of the forms the schema allows")
    return Mismatch(f"breaks the schema's `{keyword}` rule ({error.message})")


def _enum_mismatch(choices: Sequence[Any], value: Any) -> Mismatch:
    shown = ", ".join(show_value(v) for v in choices[:MAX_CHOICES_SHOWN])
    if len(choices) > MAX_CHOICES_SHOWN:
        shown += f" and {len(choices) - MAX_CHOICES_SHOWN} more"
    hint = ""
    if isinstance(value, str):
        texts = [v for v in choices if isinstance(v, str)]
        same_but_case = [v for v in texts if v.lower() == value.strip().lower()]
        if same_but_case:
            hint = f" (did you mean {show_value(same_but_case[0])}?)"
        else:
            hint = did_you_mean(value, texts).replace("`", "'")
    return Mismatch(f"is not one of {shown}", hint)


def _type_hint(kind: str, value: Any) -> str:
    """What to write instead, for the mistakes YAML and CSV invite."""
    if isinstance(value, str):
        text = value.strip()
        as_number = InputField("", kind, False, False).convert(text)
        if kind in ("integer", "number") and not isinstance(as_number, str):
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
        schema=_written_in(node, components, frozenset()) if isinstance(node, Mapping) else {},
    )


def _bound(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


_REF_PREFIX = "#/components/schemas/"
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


def _written_in(node: Any, components: Mapping[str, Any], seen: frozenset[str]) -> Any:
    """`node` with each `$ref` to `components` replaced by `allOf: [what it names]`.

    A reference to nothing known, or back to a schema it is inside, becomes `{}` (anything goes), so a
    schema is never refused for its references: the server judges what we cannot.
    """
    if isinstance(node, list):
        return [_written_in(item, components, seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    written = {
        key: value if key in _DATA_KEYWORDS else _written_in(value, components, seen)
        for key, value in node.items()
        if key != "$ref"
    }
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return written
    name = ref[len(_REF_PREFIX) :] if ref.startswith(_REF_PREFIX) else None
    target = components.get(name) if name is not None and name not in seen else None
    named = _written_in(target, components, seen | {name}) if isinstance(target, Mapping) and name else {}
    if not written:
        return named  # a bare reference is what it names (one level less for the validator)
    others = written.get("allOf")
    return {**written, "allOf": [named, *(others if isinstance(others, list) else [])]}


_MAX_REPAIRS = 100


def _readable(validator: type[Validator], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` without the keywords its meta-schema rejects (`minimum: "5"`, ...).

    What they say is left to the server; the rest of the schema is still checked, and nothing crashes.
    """
    repaired = copy.deepcopy(dict(schema))
    meta = validator(validator.META_SCHEMA)
    for _ in range(_MAX_REPAIRS):
        error = next(iter(meta.iter_errors(repaired)), None)
        if error is None:
            return repaired
        # Drop the innermost keyword on the way to the bad part; an entry of a list goes with its list.
        parent: Any = None
        key: Any = None
        node: Any = repaired
        for part in error.absolute_path:
            if isinstance(node, dict):
                parent, key = node, part
            node = node[part]
        if parent is None:
            return {}
        del parent[key]
    return {}


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
