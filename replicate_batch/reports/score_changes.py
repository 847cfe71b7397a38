"""Scores in two runs of a spec, job by job: a paired test per (model, scorer), Holm across them.

For each (model, scorer) scored in both runs, the pairs are the jobs both runs have (matched by
`job_id`), an unscored job counting 0 as in the runs' own means: both means, the difference B - A with
its 95% interval, and a two-sided paired test (exact McNemar and Newcombe's interval when every score is
0 or 1, a sign-flip permutation test and a bootstrap interval otherwise; `scoring/statistics/paired.py`),
over rows when a row has several jobs (`paired_scores`). The p-values are adjusted with Holm's method
across the (model, scorer) pairs compared; a mean is significantly lower when its adjusted p is below
`ALPHA` and the difference is negative. The same is done per value of each `group_by` field both runs
have, as a second family (its own Holm adjustment), which says where a change comes from but does not
decide the exit status. A (model, scorer) scored in one run only is listed, not tested. A flip is a job
whose score changed (1 -> 0 is a flip to worse).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..scoring.statistics.paired import PairedResult, holm_adjust, paired_test
from .records import RunRecords, natural_key
from .run_scores import Group, JobScores, Pair, manifest_scores, records_scores

ALPHA = 0.05
Verdict = Literal["worse", "better", ""]


@dataclass(frozen=True)
class ScorePair:
    """One (model, scorer), overall or in one group, compared over the jobs both runs have."""

    model: str
    scorer: str
    group: Group | None
    only_a: int  # jobs the scorer covers in A only (not in the means)
    only_b: int
    result: PairedResult | None  # None when no job is in both runs
    p_holm: float | None = None  # the p-value after Holm's adjustment across the family
    jobs: int = 0  # in both runs: the means are over these
    rows: int | None = None  # when some row has several of them (repeats, matrix values): the test's pairs

    @property
    def test(self) -> str:
        """The test, as the tables name it: `mcnemar`, `permutation`, `mcnemar by row` when grouped."""
        if self.result is None:
            return ""
        return self.result.test if self.rows is None else f"{self.result.test} by row"

    @property
    def verdict(self) -> Verdict:
        """`worse` or `better` when the change is significant (adjusted p < ALPHA), else empty."""
        if self.result is None or self.p_holm is None or self.p_holm >= ALPHA or self.result.diff == 0:
            return ""
        return "worse" if self.result.diff < 0 else "better"


@dataclass(frozen=True, slots=True)
class ScoreFlip:
    """A job whose score under a scorer changed: its score in A and in B (None: unscored), its records."""

    model: str
    scorer: str
    before: float | None
    after: float | None
    record_a: Mapping[str, str]
    record_b: Mapping[str, str]
    run_b: RunRecords = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """The job as people name it (`model · row · seed=1`); made when shown, as most flips are not."""
        return self.run_b.job_label(self.record_b)

    @property
    def change(self) -> float:
        """B - A, unscored counting 0."""
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True)
class ScoreChanges:
    """Everything `compare` says about scores."""

    pairs: Sequence[ScorePair]
    groups: Sequence[ScorePair]
    only_a: Sequence[Pair]  # (model, scorer) scored in A only: listed, not tested
    only_b: Sequence[Pair]
    flips: Sequence[ScoreFlip]  # flips to worse first, then to better

    @property
    def worse(self) -> list[ScorePair]:
        """The (model, scorer) pairs whose mean is significantly lower in B."""
        return [pair for pair in self.pairs if pair.verdict == "worse"]


NO_SCORES = ScoreChanges((), (), (), (), ())


def group_fields(run_a: RunRecords, run_b: RunRecords) -> list[str]:
    """The `group_by` fields of either spec that both runs have as columns."""
    fields: list[str] = []
    for run in (run_b, run_a):
        raw = run.spec.get("group_by") or []
        fields += [str(f) for f in raw] if isinstance(raw, list) else []
    both = set(run_a.metadata_columns) & set(run_b.metadata_columns)
    return [f for f in dict.fromkeys(fields) if f in both]


def job_scores(run: RunRecords, fields: Sequence[str]) -> JobScores:
    """A run's job scores, from its records (in memory)."""
    return records_scores(run.results, manifest_scores(run.manifest), fields)


def compare_scores(
    run_a: RunRecords,
    run_b: RunRecords,
    jobs_a: Mapping[str, Mapping[str, str]],
    jobs_b: Mapping[str, Mapping[str, str]],
    *,
    seed: int = 0,
) -> ScoreChanges:
    """Compare the two runs' scores; `jobs_a`, `jobs_b`: each run's records by job id, B's in the
    order flips are listed in."""
    fields = group_fields(run_a, run_b)
    scores_a, scores_b = job_scores(run_a, fields), job_scores(run_b, fields)
    if not scores_a.pairs and not scores_b.pairs:
        return NO_SCORES
    position = {job_id: i for i, job_id in enumerate(jobs_b)}
    models = {name: i for i, name in enumerate([*run_b.model_names, *run_a.model_names])}
    scorers = {name: i for i, name in enumerate([*run_b.scorer_names, *run_a.scorer_names])}

    def pair_order(pair: Pair) -> tuple[int, int]:
        return models.get(pair[0], len(models)), scorers.get(pair[1], len(scorers))

    both = sorted(scores_a.pairs.keys() & scores_b.pairs.keys(), key=pair_order)
    rows = scores_b.rows  # a job id names the same row in both runs
    pairs, groups = [], []
    changed: list[tuple[bool, float, int, int, str, float | None, float | None]] = []
    end = len(position)
    for index, (model, scorer) in enumerate(both):
        scored_a, scored_b = scores_a.jobs((model, scorer)), scores_b.jobs((model, scorer))
        common = sorted(scored_a.keys() & scored_b.keys())  # job id order, as the tests want
        only_a, only_b = len(scored_a) - len(common), len(scored_b) - len(common)
        pairs.append(_tested(model, scorer, None, common, scored_a, scored_b, only_a, only_b, rows, seed))
        for name in fields:
            for value, ids in _by_value(common, scores_b.groups[name]):
                group = (name, value)
                groups.append(_tested(model, scorer, group, ids, scored_a, scored_b, 0, 0, rows, seed))
        for job_id in common:
            before, after = scored_a[job_id], scored_b[job_id]
            change = (after or 0.0) - (before or 0.0)
            if change:
                changed.append(
                    (change > 0, -abs(change), index, position.get(job_id, end), job_id, before, after)
                )
    # to worse first, bigger changes first, then by (model, scorer) and B's job order (tuples sort
    # natively: a key function would cost more than the sort)
    changed.sort()
    flips = [
        ScoreFlip(*both[index], before, after, jobs_a[job_id], jobs_b[job_id], run_b)
        for _, _, index, _, job_id, before, after in changed
    ]
    return ScoreChanges(
        pairs=_holm(pairs),
        groups=_holm(groups),
        only_a=sorted(scores_a.pairs.keys() - scores_b.pairs.keys(), key=pair_order),
        only_b=sorted(scores_b.pairs.keys() - scores_a.pairs.keys(), key=pair_order),
        flips=flips,
    )


def _by_value(job_ids: Sequence[str], values: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """The jobs split by their value of a group field, values in natural order, jobs kept in order."""
    by_value: dict[str, list[str]] = {}
    for job_id in job_ids:
        by_value.setdefault(values.get(job_id, ""), []).append(job_id)
    return [(value, by_value[value]) for value in sorted(by_value, key=natural_key)]


def _tested(
    model: str,
    scorer: str,
    group: Group | None,
    common: Sequence[str],
    jobs_a: Mapping[str, float | None],
    jobs_b: Mapping[str, float | None],
    only_a: int,
    only_b: int,
    rows: Mapping[str, str],
    seed: int,
) -> ScorePair:
    if not common:
        return ScorePair(model, scorer, group, only_a, only_b, None)
    a, b, rows_tested = paired_scores(jobs_a, jobs_b, common, rows)
    result = paired_test(a, b, seed=seed)
    if rows_tested is not None:  # the means people read are the jobs', as the runs' own are
        mean_a, mean_b = _mean(jobs_a, common), _mean(jobs_b, common)
        result = replace(result, mean_a=mean_a, mean_b=mean_b, diff=mean_b - mean_a)
    return ScorePair(model, scorer, group, only_a, only_b, result, jobs=len(common), rows=rows_tested)


def _mean(jobs: Mapping[str, float | None], ids: Sequence[str]) -> float:
    return math.fsum(jobs[j] or 0.0 for j in ids) / len(ids)


def paired_scores(
    jobs_a: Mapping[str, float | None],
    jobs_b: Mapping[str, float | None],
    sorted_ids: Iterable[str],
    rows: Mapping[str, str],
) -> tuple[list[float], list[float], int | None]:
    """Both runs' scores as the paired test takes them, unscored counting 0, and how many rows when
    they were grouped by row.

    One pair per job, in job id order (so `compare` and `history` draw the same permutations and
    resamples for the same jobs); but when some row has several of these jobs (`repeat`, matrix
    values), one pair per row, each run's mean over the row's jobs, in row order: a row's jobs are
    not independent (a model that fails a row tends to fail its repeats), and counting them as such
    would call changes significant that are not, as the runs' own intervals resample rows for the
    same reason.
    """
    ids = list(sorted_ids)
    by_row: dict[str, list[str]] = {}
    for job_id in ids:
        by_row.setdefault(rows.get(job_id, job_id), []).append(job_id)  # no row known: its own
    if len(by_row) == len(ids):
        return [jobs_a[j] or 0.0 for j in ids], [jobs_b[j] or 0.0 for j in ids], None
    keys = sorted(by_row)
    return (
        [_mean(jobs_a, by_row[k]) for k in keys],
        [_mean(jobs_b, by_row[k]) for k in keys],
        len(keys),
    )


def _holm(pairs: list[ScorePair]) -> list[ScorePair]:
    tested = [(i, pair.result.p_value) for i, pair in enumerate(pairs) if pair.result is not None]
    out = list(pairs)
    for (i, _), p in zip(tested, holm_adjust([p for _, p in tested])):
        out[i] = replace(pairs[i], p_holm=p)
    return out
