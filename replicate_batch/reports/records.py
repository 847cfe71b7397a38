"""A finished run folder read back: its results rows, manifest and spec, and per-model statistics.

The report and `compare` read runs through this module; it reads `results.csv` with the `csv` module,
so every value is the string the run wrote (no dtype guessing) and a run of 8,000 jobs loads quickly.
`read_results` and `StatsTally` let the report go over a run of any size without holding its rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from ..csv_cells import csv_reader
from ..errors import NotARunFolder
from ..runfolder.manifest import Manifest, read_manifest
from ..runfolder.results import COLUMNS, NOTE_PREFIX, RESULTS_NAME, SCORE_PREFIX, ResultColumns
from .stats import ModelStats, StatsTally

FAILED_STATUSES = ("failed", "canceled")
__all__ = ["NOTE_PREFIX", "SCORE_PREFIX"]  # re-exported: the reports take the column names from here


@dataclass(frozen=True)
class RunRecords:
    """One run folder, read: results rows (as written), manifest, spec, column groups."""

    path: Path
    results: list[dict[str, str]]
    manifest: Manifest
    spec: Mapping[str, Any]
    input_columns: list[str]  # input names, without the `input.` prefix
    metadata_columns: list[str]  # the rows' `_` fields
    metric_columns: list[str] = field(default_factory=list)  # metric names, without `metric.`
    scorer_names: list[str] = field(default_factory=list)  # `score.<name>` columns, in order

    @property
    def run_id(self) -> str:
        """The run's id: the manifest's, else the folder's name."""
        return self.manifest.run_id or self.path.name

    @cached_property
    def matrix_keys(self) -> list[str]:
        """The spec's matrix keys, in spec order."""
        matrix = self.spec.get("matrix") or {}
        return [str(key) for key in matrix] if isinstance(matrix, Mapping) else []

    @cached_property
    def model_names(self) -> list[str]:
        """Models in spec order, then any others found in the results."""
        names = dict.fromkeys(self.manifest.model_names)
        names.update(dict.fromkeys(record["model"] for record in self.results))
        return list(names)

    def model_defaults(self) -> dict[str, dict[str, str]]:
        """Each model's own `input:` defaults from the spec, as `results.csv` would show them."""
        defaults: dict[str, dict[str, str]] = {}
        for entry in self.spec.get("models") or []:
            if isinstance(entry, Mapping) and entry.get("name"):
                inputs = entry.get("input") or {}
                defaults[str(entry["name"])] = {str(k): as_cell(v) for k, v in inputs.items()}
        return defaults

    def matrix_values(self, record: Mapping[str, str]) -> dict[str, str]:
        """The matrix values a job was run with (only the keys its model takes)."""
        return {key: record[f"input.{key}"] for key in self.matrix_keys if record.get(f"input.{key}")}

    def job_label(self, record: Mapping[str, str]) -> str:
        """How to name a job to a person: `model · row · seed=1 · repeat 2`."""
        return f"{record['model']} · {record['row_id']}{self.job_variant(record)}"

    def job_variant(self, record: Mapping[str, str]) -> str:
        """What tells a job from the others of its row and model: ` · seed=1 · repeat 2`, often empty."""
        variant = ""  # (called for every job of a run: kept lean)
        if self.matrix_keys:
            variant = "".join(f" · {key}={value}" for key, value in self.matrix_values(record).items())
        repeat = record.get("repeat", "0")
        return variant if repeat in ("", "0") else f"{variant} · repeat {repeat}"


def as_cell(value: Any) -> str:
    """A value as `results.csv` writes it (JSON for lists and dicts, empty for None)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return str(value)


def load_run(path: str | Path, *, with_results: bool = True) -> RunRecords:
    """Read a run folder; raises NotARunFolder when it has no `results.csv`.

    With `with_results` False only the columns, manifest and spec are read and `results` is empty: a
    caller that must not hold every row streams them with `read_results`.
    """
    path = Path(path)
    columns = ResultColumns.from_header(results_header(path))
    return RunRecords(
        path=path,
        results=list(read_results(path)) if with_results else [],
        manifest=read_manifest(path) or Manifest(),
        spec=_read_yaml(path / "spec.yaml"),
        input_columns=list(columns.inputs),
        metadata_columns=list(columns.metadata),
        metric_columns=list(columns.metrics),
        scorer_names=list(columns.scores),
    )


def results_header(path: Path) -> list[str]:
    """The columns of a run folder's `results.csv`; raises NotARunFolder when it has none."""
    results_path = path / RESULTS_NAME
    if not results_path.is_file():
        raise NotARunFolder(f"{path} is not a run folder: it has no {RESULTS_NAME}")
    with open(results_path, encoding="utf-8", newline="") as handle:
        return _checked_header(results_path, next(csv_reader(handle), None))


def read_results(path: str | Path) -> Iterator[dict[str, str]]:
    """A run folder's `results.csv` rows one at a time, as written, in file order."""
    results_path = Path(path) / RESULTS_NAME
    with open(results_path, encoding="utf-8", newline="") as handle:
        reader = csv_reader(handle)
        header = _checked_header(results_path, next(reader, None))
        width = len(header)
        for row in reader:
            if len(row) == width:  # a run killed mid-write can leave its last line cut short
                yield dict(zip(header, row))


def _checked_header(results_path: Path, header: list[str] | None) -> list[str]:
    if header is None or list(header[: len(COLUMNS)]) != list(COLUMNS):
        raise NotARunFolder(f"{results_path} does not start with the results columns")
    return header


def read_spec(path: Path) -> Mapping[str, Any]:
    """A run folder's spec.yaml as a mapping; empty when it is missing or unreadable."""
    return _read_yaml(path / "spec.yaml")


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, Mapping) else {}


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key that puts `row 2` before `row 10`."""
    # split on a captured group: the digit runs are the odd parts
    return tuple((0, int(p), "") if i % 2 else (1, 0, p) for i, p in enumerate(_DIGITS.split(text)))


def pretty_output(text: str) -> tuple[str, bool]:
    """An `output` cell for people: pretty-printed (and True) when it is a JSON object or list."""
    if text[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
        except ValueError:
            pass
    return text, False


def model_stats(run: RunRecords) -> list[ModelStats]:
    """One `ModelStats` per model in spec order, then `total`."""
    tally = StatsTally(run.model_names)
    for record in run.results:
        tally.add(record)
    return tally.stats()
