"""What a scorer may read about one finished job."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from .fields import MISSING, as_text, json_of, read_path
from .score import Score, unscored
from .template import Template, render


class JobFacts(NamedTuple):
    """A finished job as scorers see it, with the part of its output they score (`text`, `value`).

    A named tuple, not a frozen dataclass: it is made for every job and scorer `field:`, and a tuple
    is made in C where a frozen dataclass sets each field through `object.__setattr__`.
    """

    output_text: str  # the `output` column: text as is, other JSON values as JSON
    output_value: Any  # the parsed value when the output was JSON, else the text
    row: Mapping[str, Any]  # the row's fields with their types: input values, `_` metadata, `id`
    input: Mapping[str, Any]  # what was sent to the model
    files: tuple[Path, ...]  # the downloaded output files, in output order
    model: str  # the model entry's name
    text: str  # what is scored, as text: the output, or its `field:`
    value: Any  # what is scored, as a value: the output, or its `field:`
    value_is_json: bool = False  # a `field:` of a JSON output (a string there is JSON, not text to parse)

    @classmethod
    def of(
        cls,
        *,
        output_text: str,
        output_value: Any,
        row: Mapping[str, Any],
        input: Mapping[str, Any],
        files: Sequence[Path],
        model: str,
    ) -> JobFacts:
        """The facts of a job whose whole output is scored."""
        return cls(output_text, output_value, row, input, tuple(files), model, output_text, output_value)


Check = Callable[[JobFacts], Score]
"""A kind bound to its entry: scores one job."""


def fill(template: Template, facts: JobFacts) -> str | Score:
    """A template rendered for a job (its whole output, whatever `field:` picked), or unscored."""
    return render(template, row=facts.row, output_text=facts.output_text, output_value=facts.output_value)


Filler = Callable[[JobFacts], str | Score]
"""A template bound to how it is filled for a job: `fill` for any template, quicker for common ones."""


def filler(template: Template) -> Filler:
    """How a scorer fills its template for each job, chosen once: literal text is itself, and text
    around one row field is joined without `render`'s walk over the parts; any other template is
    `fill`ed."""
    text = template.literal()
    if text is not None:
        return lambda facts: text
    around = template.around_row_field()
    if around is None:
        return lambda facts: fill(template, facts)
    before, name, after = around

    def fill_field(facts: JobFacts) -> str | Score:
        value = facts.row.get(name, MISSING)
        if value is MISSING:
            return fill(template, facts)  # unscored, as `render` says it
        return before + (value if type(value) is str else as_text(value)) + after

    return fill_field


class RowLike(Protocol):
    """What `row_fields` needs of a row (the runner's `Row` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def values(self) -> Mapping[str, Any]: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...


def row_fields(row: RowLike) -> dict[str, Any]:
    """A row's fields as templates and python scorers see them: `id`, input values, `_` metadata."""
    return {"id": row.id, **row.values, **row.metadata}


def scored_json(facts: JobFacts) -> Any:
    """What is scored, as JSON: a field as it is, else the output read as JSON (MISSING if it is not)."""
    return facts.value if facts.value_is_json else json_of(facts.value)


def pick_field(facts: JobFacts, path: str) -> JobFacts | Score:
    """The job with a field of its JSON output as what is scored (`field:`), or unscored when missing."""
    parsed = json_of(facts.output_value)
    if parsed is MISSING:
        return unscored(f"the output is not JSON, so it has no field `{path}`")
    value = read_path(parsed, path)
    if value is MISSING:
        return unscored(f"no field `{path}` in the output")
    f = facts  # spelled out rather than `_replace`, which costs more than the rest of a score
    return JobFacts(
        f.output_text, f.output_value, f.row, f.input, f.files, f.model, as_text(value), value, True
    )
