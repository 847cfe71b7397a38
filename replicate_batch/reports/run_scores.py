"""A run's scores read back: the manifest's aggregates and each job's `score.<name>` cell.

The manifest's `scores` ({model: {scorer: {mean, ci_low, ci_high, n, rows, scored, threshold, passed,
method}}}) and `scores_by` ({field: {value: {model: {scorer: ...}}}}) say which scorers apply to which
model and give each mean with its interval; `compare` and `history` read them through `ScoreSummary`.
`JobScores` holds, per (model, scorer), every job's score by `job_id` (None: unscored), read from
`results.csv`, for the paired tests; a run whose manifest lists no scores (it crashed before writing
them) counts a scorer as applying to a model when some job of that model has its score or note.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..csv_cells import csv_reader
from ..runfolder.manifest import Manifest
from ..runfolder.results import RESULTS_NAME
from ..scoring.statistics import interval_text
from .records import NOTE_PREFIX, SCORE_PREFIX

Pair = tuple[str, str]  # (model, scorer)
Group = tuple[str, str]  # (row metadata field, its value)


@dataclass(frozen=True)
class ScoreSummary:
    """One model's aggregate under one scorer, as the manifest's `scores` gives it."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int = 0
    rows: int = 0
    scored: int = 0
    threshold: float | None = None
    passed: bool | None = None
    method: str = ""

    @classmethod
    def from_json(cls, data: Any) -> ScoreSummary | None:
        """A summary from its JSON object; None when it is not one (values of the wrong type are dropped)."""
        if not isinstance(data, Mapping):
            return None
        passed = data.get("passed")
        return cls(
            mean=_number(data.get("mean")),
            ci_low=_number(data.get("ci_low")),
            ci_high=_number(data.get("ci_high")),
            n=_count(data.get("n")),
            rows=_count(data.get("rows")),
            scored=_count(data.get("scored")),
            threshold=_number(data.get("threshold")),
            passed=passed if isinstance(passed, bool) else None,
            method=str(data.get("method") or ""),
        )

    @property
    def text(self) -> str:
        """`0.75 [0.60, 0.86]`, or `–` without a mean."""
        return interval_text(self.mean, self.ci_low, self.ci_high)


ModelScores = dict[str, dict[str, ScoreSummary]]  # model -> scorer -> summary


def manifest_scores(manifest: Manifest) -> ModelScores | None:
    """The manifest's `scores`, typed; None when it has none (a run without scorers, or an older one)."""
    raw = manifest.to_json().get("scores")
    return _model_scores(raw) if isinstance(raw, Mapping) else None


def manifest_scores_by(manifest: Manifest) -> dict[Group, ModelScores]:
    """The manifest's `scores_by`, typed: per (field, value), in the manifest's order."""
    raw = manifest.to_json().get("scores_by")
    found: dict[Group, ModelScores] = {}
    if isinstance(raw, Mapping):
        for name, values in raw.items():
            if isinstance(values, Mapping):
                for value, models in values.items():
                    if isinstance(models, Mapping):
                        found[(str(name), str(value))] = _model_scores(models)
    return found


def _model_scores(raw: Mapping[str, Any]) -> ModelScores:
    scores: ModelScores = {}
    for model, scorers in raw.items():
        if isinstance(scorers, Mapping):
            read = {str(s): summary for s, v in scorers.items() if (summary := ScoreSummary.from_json(v))}
            scores[str(model)] = read
    return scores


def score_value(cell: str | None) -> float | None:
    """A `score.<name>` cell as a number; None when empty (unscored, or not applicable) or not a number."""
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class JobScores:
    """Per (model, scorer) that applies, each job's score by `job_id` (None: unscored); group values."""

    pairs: dict[Pair, dict[str, float | None]] = field(default_factory=dict)
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> job_id -> value
    rows: dict[str, str] = field(default_factory=dict)  # job_id -> row_id: a row's jobs are tested as one

    def jobs(self, pair: Pair) -> dict[str, float | None]:
        """The jobs the scorer applies to in this model, with their scores."""
        return self.pairs.get(pair, {})


_KEYS = ("model", "job_id", "row_id")  # the columns every results.csv has that scores are read by


def read_job_scores(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    applies: ModelScores | None,
    group_fields: Sequence[str] = (),
) -> JobScores:
    """Every job's scores from `results.csv` rows (cells in `header`'s order).

    `applies` is the manifest's `scores`: which scorers apply to which model (None: the manifest has
    none, and a scorer applies to a model when one of its jobs has a score or a note).
    """
    column = {name: i for i, name in enumerate(header)}
    names = [c.removeprefix(SCORE_PREFIX) for c in header if c.startswith(SCORE_PREFIX)]
    model_at, job_at, row_at = (column[name] for name in _KEYS)
    table = JobScores(groups={name: {} for name in group_fields if name in column})
    groups = [(table.groups[name], column[name]) for name in table.groups]
    # per model: (its jobs' scores, score column, note column, pair) of each scorer that applies
    targets: dict[str, list[tuple[dict[str, float | None], int, int, Pair]]] = {}
    parsed: dict[str, float | None] = {"": None}  # each distinct cell is parsed once
    seen: set[Pair] = set()  # without a manifest: pairs with a score or a note somewhere
    for row in rows:
        model, job_id = row[model_at], row[job_at]
        wanted = targets.get(model)
        if wanted is None:
            allowed = applies.get(model, {}) if applies is not None else None
            wanted = targets[model] = [
                (
                    table.pairs.setdefault((model, n), {}),
                    column[SCORE_PREFIX + n],
                    column.get(NOTE_PREFIX + n, -1),
                    (model, n),
                )
                for n in names
                if allowed is None or n in allowed
            ]
        for jobs, score_at, note_at, pair in wanted:
            cell = row[score_at]
            value = parsed.get(cell, _UNPARSED)
            if value is _UNPARSED:
                value = parsed[cell] = score_value(cell)
            jobs[job_id] = value
            if applies is None and (cell or (note_at >= 0 and row[note_at])):
                seen.add(pair)
        for values, at in groups:
            values[job_id] = row[at]
        table.rows[job_id] = row[row_at]
    if applies is None:
        table.pairs = {pair: jobs for pair, jobs in table.pairs.items() if pair in seen}
    return table


_UNPARSED: Any = object()


def records_scores(
    records: Sequence[Mapping[str, str]], applies: ModelScores | None, group_fields: Sequence[str] = ()
) -> JobScores:
    """`read_job_scores` over records read into memory (dicts in `results.csv` column order)."""
    header = list(records[0]) if records else list(_KEYS)
    return read_job_scores(header, (list(r.values()) for r in records), applies, group_fields)


def scan_job_scores(
    run_dir: Path, applies: ModelScores | None, group_fields: Sequence[str] = ()
) -> JobScores:
    """`read_job_scores` streaming a run folder's `results.csv` (a row cut short by a crash is skipped)."""
    with open(run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle:
        reader = csv_reader(handle)
        header = next(reader, None) or list(_KEYS)
        width = len(header)
        return read_job_scores(header, (row for row in reader if len(row) == width), applies, group_fields)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
