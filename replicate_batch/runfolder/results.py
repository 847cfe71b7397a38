"""One result per job, and its `results.csv` row."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FinalStatus = Literal["succeeded", "failed", "canceled"]

RESULTS_NAME = "results.csv"


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
METRIC_PREFIX, INPUT_PREFIX = "metric.", "input."


def header(
    metric_columns: Sequence[str], input_columns: Sequence[str], metadata_columns: Sequence[str]
) -> list[str]:
    """`results.csv`'s header: the contract's columns, `metric.*`, `input.*`, then the rows' `_` fields."""
    return [
        *COLUMNS,
        *(METRIC_PREFIX + c for c in metric_columns),
        *(INPUT_PREFIX + c for c in input_columns),
        *metadata_columns,
    ]


def split_header(columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The metric, input and metadata column names (without prefixes) of a header `header` wrote."""
    extra = columns[len(COLUMNS) :]
    metrics = [c.removeprefix(METRIC_PREFIX) for c in extra if c.startswith(METRIC_PREFIX)]
    inputs = [c.removeprefix(INPUT_PREFIX) for c in extra if c.startswith(INPUT_PREFIX)]
    metadata = [c for c in extra if not c.startswith((METRIC_PREFIX, INPUT_PREFIX))]
    return metrics, inputs, metadata


def metric_columns(names: Iterable[str]) -> list[str]:
    """The `metric.*` columns for these reported metric names: each once, in alphabetical order.

    A fixed order, whatever order the predictions reported them in, so two runs of one spec that saw
    the same metrics have the same header.
    """
    return sorted(set(names))


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

    def to_journal(self) -> dict[str, Any]:
        """The result as a JSON-able dict, for `journal.jsonl`."""
        data = asdict(self)
        data["files"] = list(self.files)
        return data

    @classmethod
    def from_journal(cls, data: Mapping[str, Any]) -> JobResult:
        """Rebuild a result written by `to_journal`."""
        values = dict(data)
        values["files"] = tuple(values.get("files") or ())
        return cls(**values)

    def csv_row(
        self,
        run_id: str,
        model_ref: str,
        input_columns: list[str],
        metadata_columns: list[str],
        metric_columns: Sequence[str] = (),
    ) -> list[Any]:
        """The `results.csv` row, columns in contract order (`header`)."""
        row = [cell(run_id, model_ref, self) for _, cell in _CELLS]
        row += [_cell(self.metrics.get(name)) for name in metric_columns]
        row += [_cell(self.input[name]) if name in self.input else "" for name in input_columns]
        row += [_cell(self.metadata.get(name, "")) for name in metadata_columns]
        return row


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value
