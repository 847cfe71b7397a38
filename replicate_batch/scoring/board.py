"""A run's aggregates: per model and scorer (and per `group_by` value), the mean, its interval and the gate.

`ScoreBoard` follows `results.csv` (it is the run folder's tally): every result written is added,
and a rewrite starts it again, so the aggregates always describe the results the file holds. Every
job of a model counts, failed and canceled ones as unscored (0 in the mean).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, NamedTuple

from ..runfolder.results import JobResult, OutcomeCache, ScoreCell
from .fields import as_text
from .scorer import AnyScorer, applies_to, is_binary
from .statistics import Aggregate, RowIndex, ScoreAccumulators

# model -> scorer -> aggregate, in spec order; and group field -> value -> model -> scorer -> aggregate
Aggregates = dict[str, dict[str, Aggregate]]
GroupAggregates = dict[str, dict[str, Aggregates]]


_Values = tuple[float | None, ...]  # a job's value under each scorer of its model, None where unscored


def _values_in(
    names: Sequence[str], unscored: dict[str, str] | None
) -> Callable[[tuple[ScoreCell, ...]], _Values]:
    """A job's values in the order of `names` (a job that did not succeed has no scores: all None).

    Made once per outcome (`OutcomeCache`), in the order jobs come: it also keeps in `unscored`, when
    given, per scorer, the note of the first succeeded job left without a score (why it was not scored).
    """

    def values(scores: tuple[ScoreCell, ...]) -> _Values:
        given = {name: value for name, value, _ in scores}
        if unscored is not None:
            for name, value, note in scores:
                if value is None and name not in unscored:
                    unscored[name] = note
        return tuple(given.get(name) for name in names)

    return values


_Job = tuple[str, str, Mapping[str, Any], tuple[ScoreCell, ...]]  # model, row id, metadata, scores
_BATCH = 512  # jobs held before they go to the accumulators: a loop per batch costs less than calls per job


class _Model(NamedTuple):
    """One model's part of a set: its scorers' names, their accumulators, each job outcome's values."""

    names: list[str]
    accumulators: ScoreAccumulators
    values: OutcomeCache[_Values]  # in the order of `names`


class _Accumulators:
    """The accumulators of one set of jobs (all of them, or one group value's), per model."""

    def __init__(self, board: ScoreBoard, *, notes: bool = False) -> None:
        self.board = board
        self.rows = RowIndex()  # shared by this set's accumulators: each keeps only arrays
        self.by_model: dict[str, _Model] = {}
        # model -> scorer -> first unscored note, kept for the set of all jobs (`notes`) only
        self.unscored: dict[str, dict[str, str]] | None = {} if notes else None

    def add_many(self, jobs: Sequence[_Job]) -> None:
        """A batch of jobs, each added to its model's accumulators."""
        split: dict[str, tuple[_Model, list[str], list[_Values]]] = {}  # per model: its row ids, values
        for model, row_id, _, scores in jobs:
            batch = split.get(model)
            if batch is None:
                batch = split[model] = (self._model(model), [], [])
            batch[1].append(row_id)
            batch[2].append(batch[0].values[scores])
        for found, row_ids, values in split.values():
            found.accumulators.add_many(self.rows.numbers(row_ids), values)

    def _model(self, model: str) -> _Model:
        found = self.by_model.get(model)
        if found is None:
            names, accumulators = self.board.start(model, self.rows)
            notes = self.unscored.setdefault(model, {}) if self.unscored is not None else None
            values = OutcomeCache(_values_in(names, notes))
            found = self.by_model[model] = _Model(names, accumulators, values)
        return found

    def aggregates(self) -> Aggregates:
        found: Aggregates = {}
        for model in self.board.model_order(self.by_model):
            names, accumulators, _ = self.by_model[model]
            if names:
                found[model] = dict(zip(names, accumulators.results()))
        return found


class ScoreBoard:
    """Aggregates of a run's scores, fed one result at a time (a `RunFolder` tally).

    Results are held in batches of `_BATCH` and added when a batch is full or the aggregates are asked.
    """

    def __init__(
        self,
        scorers: Sequence[AnyScorer],
        *,
        models: Sequence[str],
        repeat: int,
        group_by: Sequence[str] = (),
    ) -> None:
        self.scorers = tuple(scorers)
        self.models = list(models)
        self.repeat = repeat
        self.group_by = tuple(group_by)
        self.reset()

    def reset(self) -> None:
        """Forget every result: `results.csv` is written again from its first row."""
        self._all = _Accumulators(self, notes=True)
        self._groups: dict[tuple[str, str], _Accumulators] = {}
        self._pending: list[_Job] = []

    def add(self, result: JobResult) -> None:
        """One job's result (its scores, or none when it did not succeed)."""
        self.add_scores(result.model, result.row_id, result.metadata, result.scores)

    def add_scores(
        self, model: str, row_id: str, metadata: Mapping[str, Any], scores: tuple[ScoreCell, ...]
    ) -> None:
        """One job of `model` and row `row_id`, with its scores (`rescore` has no JobResult to give)."""
        if not self.scorers:
            return
        pending = self._pending
        pending.append((model, row_id, metadata, scores))
        if len(pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        """Add the jobs held to the accumulators: all of them, and each to its group values'."""
        jobs, self._pending = self._pending, []
        self._all.add_many(jobs)
        for field in self.group_by:
            by_value: dict[str, list[_Job]] = {}
            for job in jobs:
                by_value.setdefault(group_value(job[2].get(field)), []).append(job)
            for value, members in by_value.items():
                group = self._groups.get((field, value))
                if group is None:
                    group = self._groups[(field, value)] = _Accumulators(self)
                group.add_many(members)

    def start(self, model: str, rows: RowIndex) -> tuple[list[str], ScoreAccumulators]:
        """New accumulators for a model: the scorers that apply to it, in spec order."""
        applying = [scorer for scorer in self.scorers if applies_to(scorer, model)]
        kinds = [(is_binary(scorer), scorer.entry.threshold) for scorer in applying]
        accumulators = ScoreAccumulators(kinds, repeat=self.repeat, rows=rows)
        return [scorer.name for scorer in applying], accumulators

    def model_order(self, seen: Mapping[str, Any]) -> list[str]:
        """The models seen: the spec's in its order, then others in the order they came."""
        return [m for m in self.models if m in seen] + [m for m in seen if m not in self.models]

    def aggregates(self) -> Aggregates:
        """Per model (that has jobs) and scorer that applies to it: the aggregate."""
        self._flush()
        return self._all.aggregates()

    def unscored_notes(self) -> dict[str, dict[str, str]]:
        """Per model and scorer with a succeeded job left unscored: the first such job's note (why)."""
        self._flush()
        found = self._all.unscored or {}
        return {model: dict(notes) for model, notes in found.items() if notes}

    def group_aggregates(self) -> GroupAggregates:
        """Per `group_by` field and value (in the order values came): the aggregates of its jobs."""
        self._flush()
        found: GroupAggregates = {field: {} for field in self.group_by}
        for (field, value), group in self._groups.items():
            found[field][value] = group.aggregates()
        return found


def group_value(value: Any) -> str:
    """A metadata value as a group's name: as templates show it; a row without the field is `""`."""
    return as_text(value)


def scores_json(aggregates: Aggregates) -> dict[str, dict[str, dict[str, Any]]]:
    """The manifest's `scores`: {model: {scorer: {mean, ci_low, ci_high, n, rows, scored, threshold,
    passed, method}}}."""
    return {model: {name: asdict(a) for name, a in scorers.items()} for model, scorers in aggregates.items()}


def scores_by_json(groups: GroupAggregates) -> dict[str, dict[str, dict[str, dict[str, dict[str, Any]]]]]:
    """The manifest's `scores_by`: {field: {value: {model: {scorer: {...}}}}}."""
    return {field: {value: scores_json(a) for value, a in values.items()} for field, values in groups.items()}


def gate_failures(aggregates: Aggregates) -> list[str]:
    """One message per (model, scorer) whose mean is below its threshold."""
    return [
        f"threshold not met: {model} / {name}: mean {a.text} < {threshold_text(a.threshold)}"
        + scored_text(a.scored, a.n)
        for model, scorers in aggregates.items()
        for name, a in scorers.items()
        if a.passed is False and a.threshold is not None
    ]


def threshold_text(threshold: float) -> str:
    """A threshold with two decimals, or more where it has them (`0.80`, `0.875`)."""
    return f"{threshold:.2f}" if round(threshold, 2) == threshold else f"{threshold:g}"


def scored_text(scored: int, jobs: int) -> str:
    """` (2 of 3 jobs scored)` where some job has no score (failed, or unscored: 0 in the mean), else ``."""
    return f" ({scored} of {jobs} jobs scored)" if scored < jobs else ""
