"""Templates: `{name}` a row's field, `{output}` the output text, `{output.a.b}` a field of a JSON output.

`{{` and `}}` are literal braces. A template is parsed once (preflight lists the row fields it names)
and rendered per job; a value it cannot find leaves the job unscored, with a note saying which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .fields import MISSING, as_text, is_valid_path, json_of, read_path
from .score import Score, unscored

OUTPUT = "output"


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class RowField:
    """`{name}`: a field of the row (input values, `_` metadata, `id`)."""

    name: str


@dataclass(frozen=True, slots=True)
class OutputField:
    """`{output}` (path None) or `{output.a.b}`: the output text or a field of a JSON output."""

    path: str | None


Part = str | RowField | OutputField


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and the values to put between it."""

    text: str
    parts: tuple[Part, ...]

    def row_fields(self) -> tuple[str, ...]:
        """The names of the row fields the template names, in order, once each."""
        names = (part.name for part in self.parts if isinstance(part, RowField))
        return tuple(dict.fromkeys(names))

    def literal(self) -> str | None:
        """The template's text when it names no value (then it is its own rendering), else None."""
        if any(not isinstance(part, str) for part in self.parts):
            return None
        return "".join(part for part in self.parts if isinstance(part, str))

    def around_row_field(self) -> tuple[str, str, str] | None:
        """(text before, field name, text after) when the template is text around one row field
        (`{_expected}`, `Answer: {label}.`), else None."""
        values = [(at, part) for at, part in enumerate(self.parts) if not isinstance(part, str)]
        if len(values) != 1:
            return None
        at, field = values[0]
        if not isinstance(field, RowField):
            return None
        before = "".join(part for part in self.parts[:at] if isinstance(part, str))
        after = "".join(part for part in self.parts[at + 1 :] if isinstance(part, str))
        return before, field.name, after


def parse_template(text: str) -> Template:
    """Parse `{name}`, `{output}`, `{output.a.b}`, `{{` and `}}`; raises TemplateError."""
    parts: list[Part] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        doubled = text.startswith(char * 2, index)
        if char in "{}" and doubled:
            literal.append(char)
            index += 2
        elif char == "}":
            raise TemplateError(f"a lone `}}` at character {index + 1}: write `}}}}` for a literal brace")
        elif char == "{":
            end = text.find("}", index + 1)
            name = text[index + 1 : end] if end != -1 else ""
            if end == -1 or "{" in name:
                raise TemplateError(
                    f"a `{{` at character {index + 1} is not closed: write `{{{{` for a literal brace"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_reference(name))
            index = end + 1
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append("".join(literal))
    return Template(text=text, parts=tuple(parts))


def _reference(name: str) -> RowField | OutputField:
    if not name:
        raise TemplateError("an empty `{}`: name a row field, or write `{{}}` for literal braces")
    if name == OUTPUT:
        return OutputField(None)
    if name.startswith(OUTPUT + "."):
        path = name[len(OUTPUT) + 1 :]
        if not is_valid_path(path):
            raise TemplateError(f"`{{{name}}}`: expected a dot path such as `{{output.scores.0.label}}`")
        return OutputField(path)
    return RowField(name)


def render(template: Template, *, row: Mapping[str, Any], output_text: str, output_value: Any) -> str | Score:
    """The template's text for one job, or an unscored Score naming the value that is missing."""
    pieces: list[str] = []
    parsed: Any = MISSING
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, RowField):
            if part.name not in row:
                return unscored(f"this row has no field `{part.name}`")
            value = row[part.name]
            pieces.append(value if type(value) is str else as_text(value))
        elif part.path is None:
            pieces.append(output_text)
        else:
            if parsed is MISSING:
                parsed = json_of(output_value)
                if parsed is MISSING:
                    return unscored(f"the output is not JSON, so it has no field `{part.path}`")
            value = read_path(parsed, part.path)
            if value is MISSING:
                return unscored(f"no field `{part.path}` in the output")
            pieces.append(as_text(value))
    return "".join(pieces)
