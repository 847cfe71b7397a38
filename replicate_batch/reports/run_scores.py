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
from typing import Any

from ..runfolder.manifest import Manifest
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


def interval_text(mean: float | None, low: float | None, high: float | None) -> str:
    """A mean with its interval, two decimals: `0.75 [0.60, 0.86]` (`–` without a mean)."""
    if mean is None:
        return "–"
    if low is None or high is None:
        return f"{mean:.2f}"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


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

    def jobs(self, pair: Pair) -> dict[str, float | None]:
        """The jobs the scorer applies to in this model, with their scores."""
        return self.pairs.get(pair, {})


def read_job_scores(
    records: Iterable[Mapping[str, str]],
    scorer_names: Sequence[str],
    applies: ModelScores | None,
    group_fields: Sequence[str] = (),
) -> JobScores:
    """Every job's scores from `results.csv` records (`applies`: the manifest's `scores`, if any)."""
    table = JobScores(groups={name: {} for name in group_fields})
    pairs = table.pairs
    columns = [(name, SCORE_PREFIX + name, NOTE_PREFIX + name) for name in scorer_names]
    seen: set[Pair] = set()  # without a manifest: pairs with a score or a note somewhere
    for record in records:
        model, job_id = record["model"], record["job_id"]
        allowed = applies.get(model, {}) if applies is not None else None
        for name, score_column, note_column in columns:
            if allowed is not None and name not in allowed:
                continue
            cell = record.get(score_column, "")
            jobs = pairs.get((model, name))
            if jobs is None:
                jobs = pairs[(model, name)] = {}
            jobs[job_id] = score_value(cell)
            if allowed is None and (cell or record.get(note_column)):
                seen.add((model, name))
        for name in group_fields:
            table.groups[name][job_id] = record.get(name, "")
    if applies is None:
        table.pairs = {pair: jobs for pair, jobs in pairs.items() if pair in seen}
    return table


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
