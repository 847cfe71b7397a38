"""Scorer entries of a spec's `scorers:` list, as frozen typed objects: one class per kind.

Each class checks what can be checked from the entry alone (types, a regex that compiles, a template
that parses, a JSON Schema that is valid). What needs the rest of the spec (model names, the rows'
fields, the python file) is checked by `parse_scorers`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..spec.problems import show_value
from .fields import as_text, is_valid_path
from .template import TemplateError, parse_template

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PYTHON_REFERENCE = re.compile(r"^(?P<file>.+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")


def _text(value: Any) -> Any:
    """Numbers given where text is compared (`equals: 4`) are taken as their text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return as_text(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text or a number, got {show_value(value)}")
    return value


def _template(value: str) -> str:
    try:
        parse_template(value)
    except TemplateError as error:
        raise ValueError(str(error)) from None
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {show_value(value)}")
    return value


def _ask_value(value: Any) -> Any:
    return _template(value) if isinstance(value, str) else value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"invalid regex: {error}") from None
    return value


def _dot_path(value: str) -> str:
    if not is_valid_path(value):
        raise ValueError(f"expected a dot path such as `scores.0.label`, got {value!r}")
    return value


LiteralText = Annotated[str, BeforeValidator(_text)]  # compared as given: regex patterns, one_of items
TemplateText = Annotated[str, BeforeValidator(_text), AfterValidator(_template)]
Number = Annotated[float, BeforeValidator(_number)]
DotPath = Annotated[str, AfterValidator(_dot_path)]


class ScorerEntry(BaseModel):
    """What every scorer entry has: its name, the models it scores and its gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str]

    name: str
    """Column `score.<name>`; default: the kind."""
    models: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    """Only these models' jobs (default: every model)."""
    threshold: float | None = None
    """Gate: each model's mean must be at least this, else exit 3."""

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "name" not in value:
            return {**value, "name": cls.KIND}
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML reads `yes`/`no`/`on`/`off` as booleans, which pydantic would take as 1 and 0.
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if float in {annotation, *get_args(annotation)}:
                raise ValueError(f"expected a number, got {show_value(value)}")
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"expected letters, digits, '.', '_' or '-' (starting with a letter or digit), got {value!r}"
            )
        return value


class OutputEntry(ScorerEntry):
    """A scorer that reads the job's output itself (every kind but `judge`)."""

    field: DotPath | None = None
    """Read this field of a JSON output first (dot path: `scores.0.label`)."""


class EqualsEntry(OutputEntry):
    """`equals`: 1 when the output is the expected text."""

    KIND = "equals"
    equals: TemplateText
    """The expected text: a literal or a template."""
    ignore_case: bool = False
    """Compare case-insensitively."""


class ContainsEntry(OutputEntry):
    """`contains`: 1 when the output contains the expected text."""

    KIND = "contains"
    contains: TemplateText
    """The text to find: a literal or a template."""
    ignore_case: bool = False
    """Compare case-insensitively."""


class RegexEntry(OutputEntry):
    """`regex`: 1 when the pattern is found in the output (`re.search`)."""

    KIND = "regex"
    regex: Annotated[LiteralText, AfterValidator(_regex)]
    """A Python regular expression (literal, not a template)."""


class OneOfEntry(OutputEntry):
    """`one_of`: 1 when the output is one of the items."""

    KIND = "one_of"
    one_of: Annotated[tuple[LiteralText, ...], Field(min_length=1)]
    """The accepted answers (literal, not templates)."""
    ignore_case: bool = False
    """Compare case-insensitively."""


class CloseToEntry(OutputEntry):
    """`close_to`: 1 when the output is a number within `tolerance` of the expected number."""

    KIND = "close_to"
    close_to: TemplateText
    """The expected number: a literal or a template."""
    tolerance: float = Field(0.0, ge=0)
    """Largest accepted absolute difference."""


class JsonSchemaEntry(OutputEntry):
    """`json_schema`: 1 when the output is JSON valid against the schema (draft 2020-12)."""

    KIND = "json_schema"
    json_schema: dict[str, Any] | bool
    """The schema; `{}` accepts any JSON."""

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | bool) -> dict[str, Any] | bool:
        import jsonschema  # loaded when a spec has a json_schema scorer: importing the package stays cheap

        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as error:
            where = "/".join(str(part) for part in error.path)
            at = f" at `{where}`" if where else ""
            raise ValueError(f"not a valid JSON Schema (draft 2020-12){at}: {error.message}") from None
        return value


class PythonEntry(OutputEntry):
    """`python`: a function in a file beside the spec gives the score."""

    KIND = "python"
    python: str
    """`FILE.py:FUNCTION`, FILE relative to the spec's folder."""

    @field_validator("python")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not PYTHON_REFERENCE.match(value):
            raise ValueError(f"expected `FILE.py:FUNCTION`, such as `scorers.py:exact_label`, got {value!r}")
        return value


class JudgeEntry(ScorerEntry):
    """`judge`: another model reads the output and grades it; its reply is read to a number."""

    KIND = "judge"
    judge: str | dict[str, Any]
    """The judge: a model entry of any form, as the spec wrote it."""
    ask: dict[str, Annotated[Any, AfterValidator(_ask_value)]]
    """The judge's input fields: strings are templates, other values are sent as given."""
    choices: dict[str, Number] | None = None
    """Read the reply: the key appearing first as a whole word gives its value."""
    regex: Annotated[str, AfterValidator(_regex)] | None = None
    """Read the reply: group 1 of the first match, as a number."""
    scale: float | None = Field(None, gt=0)
    """With `regex`: divide the number by this."""
    field: DotPath | None = None
    """Read the reply: a number or bool at this dot path of a JSON reply."""

    @field_validator("judge", mode="before")
    @classmethod
    def _model_entry(cls, value: Any) -> Any:
        if not isinstance(value, (str, Mapping)):
            raise ValueError(
                f"expected a model entry: a ref string or a mapping with one of ref/cog/url/deployment, "
                f"got {show_value(value)}"
            )
        return value

    @field_validator("ask")
    @classmethod
    def _some_input(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError('expected the judge\'s input fields, such as `{prompt: "...{output}..."}`')
        return value

    @field_validator("regex")
    @classmethod
    def _has_group(cls, value: str | None) -> str | None:
        if value is not None and re.compile(value).groups < 1:
            raise ValueError(
                f"the judge's regex needs a group around the number, such as `(\\d+)`: {value!r}"
            )
        return value

    @field_validator("choices")
    @classmethod
    def _some_choices(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (not value or not all(value)):
            raise ValueError("expected a mapping of reply words to numbers, such as `{A: 1, B: 0}`")
        return value

    @model_validator(mode="after")
    def _one_reading(self) -> JudgeEntry:
        readings = [key for key in READINGS if getattr(self, key) is not None]
        if len(readings) != 1:
            given = f"got {' and '.join(readings)}" if readings else "got none"
            raise ValueError(f"a judge's reply is read by exactly one of choices, regex or field: {given}")
        if self.scale is not None and self.regex is None:
            raise ValueError("`scale` goes with `regex`: it divides the number the regex reads")
        return self


READINGS = ("choices", "regex", "field")

ScorerSpec = (
    EqualsEntry
    | ContainsEntry
    | RegexEntry
    | OneOfEntry
    | CloseToEntry
    | JsonSchemaEntry
    | PythonEntry
    | JudgeEntry
)
OutputSpec = (
    EqualsEntry | ContainsEntry | RegexEntry | OneOfEntry | CloseToEntry | JsonSchemaEntry | PythonEntry
)
ENTRY_TYPES: dict[str, type[ScorerSpec]] = {
    entry.KIND: entry
    for entry in (
        EqualsEntry,
        ContainsEntry,
        RegexEntry,
        OneOfEntry,
        CloseToEntry,
        JsonSchemaEntry,
        PythonEntry,
        JudgeEntry,
    )
}
KINDS = tuple(ENTRY_TYPES)
