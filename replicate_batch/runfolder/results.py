"""One result per job: the `results.csv` row, and loading runs back into pandas."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

FinalStatus = Literal["succeeded", "failed", "canceled"]

COLUMNS = (
    "run_id",
    "job_id",
    "model",
    "model_ref",
    "version",
    "row_id",
    "repeat",
    "status",
    "output",
    "files",
    "error",
    "attempts",
    "prediction_id",
    "created_at",
    "completed_at",
    "predict_time",
    "wall_time",
)


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
        self, run_id: str, model_ref: str, input_columns: list[str], metadata_columns: list[str]
    ) -> list[Any]:
        """The `results.csv` row, columns in contract order."""
        row: list[Any] = [
            run_id,
            self.job_id,
            self.model,
            model_ref,
            self.version,
            self.row_id,
            self.repeat,
            self.status,
            self.output,
            json.dumps(list(self.files)),
            self.error,
            self.attempts,
            self.prediction_id,
            self.created_at,
            self.completed_at,
            "" if self.predict_time is None else round(self.predict_time, 6),
            "" if self.wall_time is None else round(self.wall_time, 3),
        ]
        row += [_cell(self.input[name]) if name in self.input else "" for name in input_columns]
        row += [_cell(self.metadata.get(name, "")) for name in metadata_columns]
        return row


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


def load_results(path: str | Path) -> pd.DataFrame:
    """Load a run folder's `results.csv`, or every run below a folder stacked, with typed columns."""
    path = Path(path)
    if (path / "results.csv").is_file():
        files = [path / "results.csv"]
    elif path.is_file() and path.name == "results.csv":
        files = [path]
    else:
        files = sorted(path.glob("**/results.csv"))
    if not files:
        raise FileNotFoundError(f"no results.csv in {path} or below it")
    frames = [
        pd.read_csv(
            f,
            dtype={"row_id": str, "job_id": str, "output": str, "error": str, "version": str},
            keep_default_na=False,
            na_values={"predict_time": [""], "wall_time": [""]},
        )
        for f in files
    ]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df["files"] = df["files"].map(lambda cell: json.loads(cell) if cell else [])
    for column in ("created_at", "completed_at"):
        df[column] = pd.to_datetime(df[column], utc=True, errors="coerce", format="ISO8601")
    for column in ("predict_time", "wall_time"):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    df["status"] = df["status"].astype("category")
    return df
