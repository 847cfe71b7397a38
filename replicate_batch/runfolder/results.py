"""One result per job, and its `results.csv` row: the columns and their order, stated once here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

FinalStatus = Literal["succeeded", "failed", "canceled"]

RESULTS_NAME = "results.csv"

# How many distinct job outcomes an `OutcomeCache` keeps before it starts again.
OUTCOMES_CACHED = 1024


def _seconds(value: float | None, digits: int) -> Any:
    return "" if value is None else round(value, digits)


# The contract's `results.csv` columns, in order, and how each cell comes from (run_id, model_ref, result);
# the input and metadata columns follow them.
_CELLS: tuple[tuple[str, Callable[[str, str, JobResult], Any]], ...] = (
    ("run_id", lambda run_id, ref, r: run_id),
    ("job_id", lambda run_id, ref, r: r.job_id),
    ("model", lambda run_id, ref, r: r.model),
    ("model_ref", lambda run_id, ref, r: ref),
    ("version", lambda run_id, ref, r: r.version),
    ("row_id", lambda run_id, ref, r: r.row_id),
    ("repeat", lambda run_id, ref, r: r.repeat),
    ("status", lambda run_id, ref, r: r.status),
    ("output", lambda run_id, ref, r: r.output),
    ("files", lambda run_id, ref, r: json.dumps(list(r.files))),
    ("error", lambda run_id, ref, r: r.error),
    ("attempts", lambda run_id, ref, r: r.attempts),
    ("prediction_id", lambda run_id, ref, r: r.prediction_id),
    ("created_at", lambda run_id, ref, r: r.created_at),
    ("completed_at", lambda run_id, ref, r: r.completed_at),
    ("predict_time", lambda run_id, ref, r: _seconds(r.predict_time, 6)),
    ("wall_time", lambda run_id, ref, r: _seconds(r.wall_time, 3)),
)
COLUMNS = tuple(name for name, _ in _CELLS)
METRIC_PREFIX = "metric."


def metric_columns(names: Iterable[str]) -> list[str]:
    """The `metric.*` columns for these reported metric names: each once, in alphabetical order.

    A fixed order, whatever order the predictions reported them in, so two runs of one spec that saw
    the same metrics have the same header.
    """
    return sorted(set(names))


SCORE_PREFIX, NOTE_PREFIX, INPUT_PREFIX = "score.", "note.", "input."

# One job's score under one scorer: (scorer name, the number or None when unscored, the note).
ScoreCell = tuple[str, float | None, str]


@dataclass(frozen=True)
class JobResult:
    """How one job ended. Workers return these; failures are data, never exceptions."""

    job_id: str
    model: str
    row_id: str
    repeat: int
    status: FinalStatus
    output: str = ""
    files: tuple[str, ...] = ()
    error: str = ""
    attempts: int = 0
    prediction_id: str = ""
    version: str = ""
    created_at: str = ""
    completed_at: str = ""
    predict_time: float | None = None
    wall_time: float | None = None
    input: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # other numbers the prediction reported
    # The scorers that apply to the job's model, in spec order; none for a job that did not succeed.
    scores: tuple[ScoreCell, ...] = ()
    # The prediction's output was a JSON value other than text: `output` is its JSON, and python
    # scorers get it parsed (`output_value`), the same in a run and in `rescore`.
    output_json: bool = False

    def with_scores(self, scores: tuple[ScoreCell, ...]) -> JobResult:
        """The same result with these scores."""
        # The fields copied in one dict rather than through `dataclasses.replace`, which runs the
        # frozen `__init__` (an `object.__setattr__` per field): this runs for every job, under the GIL.
        values = self.__dict__.copy()
        values["scores"] = scores
        scored = object.__new__(JobResult)
        object.__setattr__(scored, "__dict__", values)
        return scored

    @property
    def output_value(self) -> Any:
        """The output as scorers get it: the parsed value when it was JSON, else the text."""
        if self.output_json:
            try:
                return json.loads(self.output)
            except ValueError:
                return self.output
        return self.output

    def journal_fields(self) -> dict[str, Any]:
        """The result as a JSON-able dict for `journal.jsonl`, less its scores (`journal_scores`)."""
        # Field by field rather than `asdict`, whose deep copies cost more than the JSON encoding.
        data = {name: getattr(self, name) for name in _JOURNALED_FIELDS}
        data["files"] = list(self.files)
        data["input"] = dict(self.input)
        data["metadata"] = dict(self.metadata)
        return data

    def journal_scores(self) -> str:
        """The `"scores": {name: value}, "notes": {name: note}` members of the result's journal JSON.

        Made once per job outcome (`_JOURNAL_SCORES`): encoded for every job, they cost as much as
        scoring it. The notes are those that say something.
        """
        return _JOURNAL_SCORES[self.scores]

    @classmethod
    def from_journal(cls, data: Mapping[str, Any]) -> JobResult:
        """Rebuild a result from its journal JSON (older journals have no scores: none)."""
        values = dict(data)
        values["files"] = tuple(values.get("files") or ())
        values["scores"] = tuple(_score_cells(values.get("scores") or (), values.pop("notes", None) or {}))
        values["output_json"] = values.get("output_json") is True
        return cls(**values)


_JOURNALED_FIELDS = tuple(f.name for f in fields(JobResult) if f.name != "scores")


_Made = TypeVar("_Made")


class OutcomeCache(dict[tuple[ScoreCell, ...], _Made], Generic[_Made]):
    """What `make` gives for a job outcome (all of a job's scores and notes), made once per outcome.

    It serves what is made from every job's scores: a run's jobs share a handful of outcomes. A hit is
    a plain dict lookup; past `OUTCOMES_CACHED` outcomes (notes that differ job by job, such as judge
    replies) it starts again, so it never holds more.
    """

    def __init__(self, make: Callable[[tuple[ScoreCell, ...]], _Made]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, scores: tuple[ScoreCell, ...]) -> _Made:
        made = self.make(scores)
        if len(self) >= OUTCOMES_CACHED:
            self.clear()
        self[scores] = made
        return made


def _journal_form(scores: tuple[ScoreCell, ...]) -> str:
    """A job's scores as the journal keeps them: `"scores": {name: value}, "notes": {name: note}`, the
    notes that say something (a third of the JSON that (name, value, note) triples take).

    A whole number is written as an int (`1`, as in results.csv); read back, every value is a float.
    """
    values = {
        name: int(value) if value is not None and value.is_integer() else value for name, value, _ in scores
    }
    notes = {name: note for name, _, note in scores if note}
    return json.dumps({"scores": values, "notes": notes}, ensure_ascii=False)[1:-1]


# Shared by every result's `journal_scores`.
_JOURNAL_SCORES = OutcomeCache(_journal_form)


def _score_cells(scores: Any, notes: Any) -> Iterable[ScoreCell]:
    """Journaled scores back as cells: `{name: value}` with `notes` `{name: note}`, or (as older
    journals have them) [name, value, note] lists. A value that is not a number or null is dropped."""
    if isinstance(scores, Mapping):
        notes = notes if isinstance(notes, Mapping) else {}
        cells: Iterable[Any] = ((name, value, notes.get(name, "")) for name, value in scores.items())
    else:
        cells = (cell for cell in scores if isinstance(cell, (list, tuple)) and len(cell) == 3)
    for name, value, note in cells:
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield str(name), None if value is None else float(value), str(note)


@dataclass(frozen=True)
class ResultColumns:
    """`results.csv`'s columns, in the one order design.md §4 gives them.

    The contract columns (`COLUMNS`), then per scorer in spec order `score.<name>` and
    `note.<name>`, then `metric.<name>` per number the predictions reported (`metric_columns`), then
    `input.<name>` per input, then the rows' `_` metadata fields. A new group of columns goes in
    `header`, `cells` and `from_header`, nowhere else.
    """

    scores: tuple[str, ...] = ()  # scorer names
    metrics: tuple[str, ...] = ()  # reported metric names, without `metric.`
    inputs: tuple[str, ...] = ()  # input names, without `input.`
    metadata: tuple[str, ...] = ()  # the rows' `_` fields

    def header(self) -> list[str]:
        """Every column name, in order."""
        return [
            *COLUMNS,
            *self.score_header(),
            *(METRIC_PREFIX + name for name in self.metrics),
            *(INPUT_PREFIX + name for name in self.inputs),
            *self.metadata,
        ]

    def score_header(self) -> list[str]:
        """The `score.<name>`, `note.<name>` pairs, in scorer order."""
        return [column for name in self.scores for column in (SCORE_PREFIX + name, NOTE_PREFIX + name)]

    def cells(self, result: JobResult, run_id: str, model_ref: str) -> list[Any]:
        """A result's `results.csv` row."""
        row = [cell(run_id, model_ref, result) for _, cell in _CELLS]
        row += self.score_cells(result.scores)
        row += [_cell(result.metrics.get(name)) for name in self.metrics]
        row += [_cell(result.input[name]) if name in result.input else "" for name in self.inputs]
        row += [_cell(result.metadata.get(name, "")) for name in self.metadata]
        return row

    def score_cells(self, scores: tuple[ScoreCell, ...]) -> tuple[Any, ...]:
        """The `score.*` and `note.*` cells of a job's scores: empty where a scorer gave none."""
        return self._cells_of[scores]

    @cached_property
    def _cells_of(self) -> OutcomeCache[tuple[Any, ...]]:
        """Each job outcome's score and note cells, made once (`score_cells`)."""

        def cells_of(scores: tuple[ScoreCell, ...]) -> tuple[Any, ...]:
            cells: list[Any] = [""] * (2 * len(self.scores))
            at = self._score_at
            for name, value, note in scores:
                index = at.get(name)
                if index is not None:
                    cells[index], cells[index + 1] = score_cell(value), note
            return tuple(cells)

        return OutcomeCache(cells_of)

    @cached_property
    def _score_at(self) -> dict[str, int]:
        """Where each scorer's score cell is among the score cells."""
        return {name: 2 * i for i, name in enumerate(self.scores)}

    @property
    def score_span(self) -> slice:
        """Where the score and note cells sit in a row."""
        return slice(len(COLUMNS), len(COLUMNS) + 2 * len(self.scores))

    @classmethod
    def from_header(cls, header: Sequence[str]) -> ResultColumns:
        """The column groups of a `results.csv` header (its first columns must be `COLUMNS`)."""
        scores, metrics, inputs, metadata = [], [], [], []
        for name in header[len(COLUMNS) :]:
            if name.startswith(SCORE_PREFIX):
                scores.append(name.removeprefix(SCORE_PREFIX))
            elif name.startswith(NOTE_PREFIX):
                continue
            elif name.startswith(METRIC_PREFIX):
                metrics.append(name.removeprefix(METRIC_PREFIX))
            elif name.startswith(INPUT_PREFIX):
                inputs.append(name.removeprefix(INPUT_PREFIX))
            else:
                metadata.append(name)
        return cls(tuple(scores), tuple(metrics), tuple(inputs), tuple(metadata))


def score_cell(value: float | None) -> int | float | str:
    """A `score.<name>` cell: empty when unscored, a whole number as an int (written `1`, not `1.0`),
    else the float (written as Python writes it, `0.75`)."""
    if value is None:
        return ""
    value = float(value)
    return int(value) if value.is_integer() else value


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value
