"""Which results `report.html` embeds: all of a run up to `MAX_JOBS` jobs; of a bigger run, failures first.

The page's grid has one row per input row (and shared matrix values and repeat), so jobs are chosen a
grid row at a time: a row is shown whole or not at all. Above the cap, the rows holding failed or
canceled jobs come first, then those holding a job that scored below 1 (below_one.py: what the page's
filter of that name shows), the first of each in input order, together up to `FAILED_SHARE` of the
cap; then the first other rows in input order fill the rest. Rows are in input order when every row id
is a number (the default ids), else in the order `results.csv` first names them.

Memory stays bounded whatever the run's size: `results.csv` is read a row at a time, in up to three
passes (the survey, the failing and low-scored rows, the rows to show), and only the rows that may be
shown are kept. The survey finds the failing and low-scored rows itself where one pass can (`survey`),
so that a report usually reads `results.csv` twice.

(Over 300 lines: the survey and the selection rank grid rows by one rule, and must find the same rows.)
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .below_one import BelowOne, BelowOneTally
from .records import FAILED_STATUSES, RunRecords, as_cell, read_results
from .stats import ModelStats, StatsTally

MAX_JOBS = 10_000  # a 2,000-row x 4-model run (8,000 jobs) is still shown whole
FAILED_SHARE = 0.5  # of the cap, at most this much goes to rows with failures

GroupKey = tuple[str, str, tuple[str, ...]]  # row_id, repeat, values of the shared matrix keys
Rank = tuple[Any, ...]  # orders grid rows; its last item is the row's GroupKey
_UNKEPT: tuple[int, dict[str, str]] = (0, {})  # what a pass that only counts jobs keeps of each


@dataclass(frozen=True)
class Candidates:
    """The grid rows a selection ranks before the others: the first rows with failed or canceled jobs and
    the first with jobs that scored below 1, each counted by those jobs only up to `budget` jobs
    (supersets of the rows that can be shown for them)."""

    budget: int
    failing: frozenset[GroupKey]
    low: frozenset[GroupKey]  # less the failing ones


@dataclass(frozen=True)
class RunShape:
    """What one pass over every result tells: per-model statistics and how the grid splits rows."""

    models: list[str]  # spec order, then any others found in the results
    stats: list[ModelStats]  # per model, then `total`: always over every result
    shared: list[str]  # matrix keys every job has a value for: each value is a grid row of its own
    repeats: bool  # some job is a repeat
    numeric_rows: bool  # every row id is a number (the default ids): rows sort by it
    jobs: int
    failed: int  # failed or canceled
    below_one: int = 0  # jobs that scored below 1 under a scorer of their model (below_one.py)
    applies: Mapping[str, list[str]] = field(default_factory=dict)  # model -> its scorers
    candidates: Candidates | None = None  # found by the survey (None: `select_jobs` finds them)

    def group_key(self, record: Mapping[str, str]) -> GroupKey:
        """The grid row a job is drawn in."""
        return _group_key(record, self._shared_columns)

    def is_below_one(self, record: Mapping[str, str]) -> bool:
        """Whether a job scored below 1 (or is unscored) under a scorer that applies to its model."""
        return self._below_one(record)

    @cached_property
    def _shared_columns(self) -> list[str]:
        return [f"input.{k}" for k in self.shared]

    @cached_property
    def _below_one(self) -> BelowOne:
        return BelowOne(self.applies)


def _group_key(record: Mapping[str, str], matrix_columns: Sequence[str]) -> GroupKey:
    """A job's grid row: its row id, its repeat and its values of `matrix_columns` (`input.<key>`)."""
    values = tuple([record.get(c, "") for c in matrix_columns]) if matrix_columns else ()
    return record["row_id"], record.get("repeat", "0"), values


def survey(run: RunRecords, records: Iterable[Mapping[str, str]], max_jobs: int | None = None) -> RunShape:
    """Go over a run's records once, keeping only counts, flags and wall times.

    With `max_jobs`, the cap of the selection to come, it also finds that selection's `Candidates`
    where one pass can: when the manifest says which scorers apply to which model (or there are none)
    and every job has a value for every matrix key (so that group keys are known as jobs come).
    """
    tally = StatsTally(run.model_names)
    scores = BelowOneTally(run)
    matrix_columns = [(k, f"input.{k}") for k in run.matrix_keys]
    partial: set[str] = set()  # matrix keys some job has no value for
    repeats = False
    numeric_rows = True
    failed = 0
    finder = _SurveyCandidates(run, max_jobs) if max_jobs is not None and scores.applies_known else None
    for record in records:
        tally.add(record)
        below_one = scores.add(record)
        if matrix_columns:
            partial.update(k for k, column in matrix_columns if not record.get(column))
            if partial:
                finder = None
        repeats = repeats or record.get("repeat", "0") not in ("", "0")
        numeric_rows = numeric_rows and record["row_id"].isdigit()
        job_failed = record["status"] in FAILED_STATUSES
        failed += job_failed
        if finder is not None and (job_failed or below_one):
            finder.add(record, job_failed, below_one, numeric_rows)
    return RunShape(
        models=tally.model_names,
        stats=tally.stats(),
        shared=[k for k in run.matrix_keys if k not in partial],
        repeats=repeats,
        numeric_rows=numeric_rows,
        jobs=tally.jobs,
        failed=failed,
        below_one=scores.below_one(),
        applies=scores.applies(),
        candidates=finder.found(numeric_rows) if finder is not None else None,
    )


@dataclass(frozen=True)
class Selection:
    """The records a report embeds, in `results.csv` order, and how they stand to the whole run."""

    records: list[dict[str, str]]
    jobs: int  # in the run
    failed: int  # failed or canceled, in the run
    failed_shown: int
    other_rows: int  # grid rows shown for being first in input order, beside those ranked before them
    below_one: int = 0  # jobs that scored below 1, in the run
    below_one_shown: int = 0

    @property
    def is_complete(self) -> bool:
        """Whether every result of the run is embedded."""
        return len(self.records) == self.jobs


class _FirstGroups:
    """The lowest-ranked grid rows that fit `budget` jobs, found in one pass in bounded memory.

    A row is kept whole or dropped whole: once one is dropped, no row ranked at or after it is taken
    again (`_cutoff`), so every kept row has all its jobs when the pass ends. Without a rank a row
    ranks by when it first came; a lower `tier` ranks before any higher one.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.members: dict[GroupKey, list[tuple[int, dict[str, str]]]] = {}
        self._order: list[Rank] = []  # ranks of the kept rows, ascending
        self._jobs = 0
        self._cutoff: Rank | None = None
        self._arrivals = 0

    def add(self, key: GroupKey, item: tuple[int, dict[str, str]], rank: Rank | None, tier: int = 0) -> None:
        """Count one job of the row `key` (and keep `item` while the row is kept)."""
        if key not in self.members:
            self._arrivals += 1
            rank = (tier, *rank) if rank is not None else (tier, self._arrivals, key)
            if self._cutoff is not None and rank >= self._cutoff:
                return
            self.members[key] = []
            insort(self._order, rank)
        self.members[key].append(item)
        self._jobs += 1
        while self._jobs > self.budget:
            self._cutoff = self._order.pop()
            self._jobs -= len(self.members.pop(self._cutoff[-1]))

    def in_order(self) -> list[GroupKey]:
        """The kept rows, lowest rank first."""
        return [rank[-1] for rank in self._order]


def _by_number(run: RunRecords, shared: Sequence[str]) -> Callable[[GroupKey], Rank]:
    """The grid's order for numeric row ids: by number, then `shared` matrix values, then repeat."""
    matrix = run.spec.get("matrix") or {}
    values = {k: [as_cell(v) for v in matrix[k] or []] for k in shared}

    def rank(key: GroupKey) -> Rank:
        row_id, repeat, shared_values = key
        positions: tuple[int, ...] = ()
        if shared_values:
            positions = tuple(
                values[k].index(v) if v in values[k] else -1 for k, v in zip(shared, shared_values)
            )
        return (int(row_id), row_id, positions, int(repeat) if repeat.isdigit() else 0, key)

    return rank


def _by_arrival(key: GroupKey) -> None:
    """No rank: rows rank by when they first come (named row ids)."""
    return None


def _grid_rank(run: RunRecords, shape: RunShape) -> Callable[[GroupKey], Rank | None]:
    """The grid's order of rows, once the survey has said whether row ids are numbers."""
    return _by_number(run, shape.shared) if shape.numeric_rows else _by_arrival


class _CandidateRows:
    """Finds `Candidates` a job at a time, with the grid rows in one order."""

    def __init__(self, budget: int, rank: Callable[[GroupKey], Rank | None]) -> None:
        self.budget = budget
        self.rank = rank
        self._failing = _FirstGroups(budget)
        self._low = _FirstGroups(budget)

    def add(self, key: GroupKey, failed: bool, below_one: bool) -> None:
        """Count one job that failed or scored below 1."""
        position = self.rank(key)
        if failed:
            self._failing.add(key, _UNKEPT, position)
        if below_one:
            self._low.add(key, _UNKEPT, position)

    def found(self) -> Candidates:
        """The rows found."""
        failing = frozenset(self._failing.members)
        return Candidates(self.budget, failing, frozenset(self._low.members) - failing)


class _SurveyCandidates:
    """`Candidates` found by the survey, before the grid's order and its shared matrix keys are known.

    Group keys take every matrix key (the survey drops the finder when a job has no value for one).
    Rows rank by number when every row id before the first job counted is one, else by arrival; should
    a row id that is not a number come after that, the rows found are not the grid's (`found`: None).
    """

    def __init__(self, run: RunRecords, max_jobs: int) -> None:
        self._run = run
        self._budget = int(max_jobs * FAILED_SHARE)
        self._columns = [f"input.{k}" for k in run.matrix_keys]
        self._rows: _CandidateRows | None = None
        self._numeric_rows = True  # ranked by number

    def add(self, record: Mapping[str, str], failed: bool, below_one: bool, numeric_rows: bool) -> None:
        """Count one job that failed or scored below 1; `numeric_rows`: every row id so far is a number."""
        if self._rows is None:
            self._numeric_rows = numeric_rows
            rank = _by_number(self._run, self._run.matrix_keys) if numeric_rows else _by_arrival
            self._rows = _CandidateRows(self._budget, rank)
        elif numeric_rows != self._numeric_rows:
            return  # found() will say so
        self._rows.add(_group_key(record, self._columns), failed, below_one)

    def found(self, numeric_rows: bool) -> Candidates | None:
        """The rows found; None when they were ranked in another order than the grid's (`numeric_rows`:
        every row id is a number)."""
        if self._rows is None:
            return Candidates(self._budget, frozenset(), frozenset())
        return self._rows.found() if numeric_rows == self._numeric_rows else None


def find_candidates(run: RunRecords, shape: RunShape, max_jobs: int) -> Candidates:
    """The `Candidates` of a selection of `max_jobs`: the survey's, else from a pass of their own."""
    budget = int(max_jobs * FAILED_SHARE)
    if shape.candidates is not None and shape.candidates.budget == budget:
        return shape.candidates
    rows = _CandidateRows(budget, _grid_rank(run, shape))
    if shape.failed or shape.below_one:
        for record in read_results(run.path):
            failed = record["status"] in FAILED_STATUSES
            below_one = shape.below_one > 0 and shape.is_below_one(record)
            if failed or below_one:
                rows.add(shape.group_key(record), failed, below_one)
    return rows.found()


def select_jobs(run: RunRecords, shape: RunShape, max_jobs: int = MAX_JOBS) -> Selection:
    """The records to embed: every one when the run has at most `max_jobs`, else as the module says."""
    if shape.jobs <= max_jobs:
        records = list(read_results(run.path))
        return Selection(records, shape.jobs, shape.failed, shape.failed, 0, shape.below_one, shape.below_one)
    rank = _grid_rank(run, shape)
    candidates = find_candidates(run, shape, max_jobs)
    failing, low = candidates.failing, candidates.low
    with_failures = _FirstGroups(candidates.budget)  # the failing rows first, then the low-scored ones
    first = _FirstGroups(max_jobs)
    for index, record in enumerate(read_results(run.path)):
        key = shape.group_key(record)
        position = rank(key)
        if key in failing or key in low:
            with_failures.add(key, (index, record), position, tier=int(key in low))
        first.add(key, (index, record), position)
    chosen = dict(with_failures.members)
    room = max_jobs - sum(len(items) for items in chosen.values())
    other_rows = 0
    for key in first.in_order():
        if key in chosen:
            continue
        if len(first.members[key]) > room:
            break
        chosen[key] = first.members[key]
        room -= len(chosen[key])
        other_rows += 1
    kept = sorted((item for items in chosen.values() for item in items), key=lambda item: item[0])
    records = [record for _, record in kept]
    failed_shown = sum(r["status"] in FAILED_STATUSES for r in records)
    low_shown = sum(shape.is_below_one(r) for r in records) if shape.below_one else 0
    return Selection(records, shape.jobs, shape.failed, failed_shown, other_rows, shape.below_one, low_shown)
