"""Per model and scorer: the mean with its 95% interval, how many jobs, rows and scores, and the gate."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .bootstrap import bootstrap_rows
from .wilson import wilson_interval

Method = Literal["wilson", "bootstrap"]
# A mean computed from decimal scores may land a hair under a threshold it meets in decimal.
_THRESHOLD_SLACK = 1e-12
# Distinct outcomes an accumulator counts before it folds them into its totals.
_OUTCOMES_KEPT = 1024


@dataclass(frozen=True)
class Aggregate:
    """One model's result under one scorer, as the manifest's `scores` gives it."""

    mean: float | None  # over every job the scorer applies to, unscored counting 0; None without jobs
    ci_low: float | None
    ci_high: float | None
    n: int  # jobs
    rows: int  # distinct rows among them
    scored: int  # jobs that got a score
    threshold: float | None
    passed: bool | None  # None without a threshold
    method: Method  # how the interval was computed

    @property
    def text(self) -> str:
        """`0.75 [0.60, 0.86]`."""
        return interval_text(self.mean, self.ci_low, self.ci_high)


def interval_text(mean: float | None, low: float | None, high: float | None) -> str:
    """A mean and its interval as the summary and the report show them: `0.75 [0.60, 0.86]`."""
    if mean is None:
        return "–"
    if low is None or high is None:
        return f"{mean:.2f}"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def interval_method(binary: bool, repeat: int) -> Method:
    """Wilson's interval for 0/1 scores when every row ran once; otherwise the bootstrap over rows."""
    return "wilson" if binary and repeat == 1 else "bootstrap"


def meets(mean: float | None, threshold: float | None) -> bool | None:
    """Whether a mean meets a threshold (None without a threshold; no mean never meets one)."""
    if threshold is None:
        return None
    return mean is not None and mean >= threshold - _THRESHOLD_SLACK


class RowIndex:
    """Dense numbers for row keys, shared by a run's accumulators so each keeps only arrays."""

    def __init__(self) -> None:
        self._numbers: dict[Hashable, int] = {}

    def numbers(self, keys: Iterable[Hashable]) -> list[int]:
        """Each key's row number, in order: 0 for the first key ever seen, then 1, 2, ..."""
        numbers = self._numbers
        found = []
        for key in keys:
            number = numbers.get(key)
            if number is None:
                number = numbers[key] = len(numbers)
            found.append(number)
        return found

    def __len__(self) -> int:
        return len(self._numbers)


class ScoreAccumulators:
    """The jobs of one set (a model's, or a group value's model's) under each of its scorers.

    Every scorer of a model sees every job of it, so the jobs per row are counted once for all of
    them (4 bytes a row); each scorer keeps its total and count, and its sum per row for the bootstrap.
    Jobs come a batch at a time (`add_many`): a loop over lists per batch, no call per job or scorer.
    """

    def __init__(
        self,
        scorers: Sequence[tuple[bool, float | None]],
        *,
        repeat: int = 1,
        rows: RowIndex | None = None,
    ) -> None:
        """`scorers`: (binary, threshold) of each scorer, in order."""
        self.methods = [interval_method(binary, repeat) for binary, _ in scorers]
        self.thresholds = [threshold for _, threshold in scorers]
        self._rows = rows if rows is not None else RowIndex()
        self._counts = array("I")  # jobs per row number: which rows this set saw
        self._sums = [array("d") if method == "bootstrap" else None for method in self.methods]
        self._bootstrapped = [(i, sums) for i, sums in enumerate(self._sums) if sums is not None]
        self._totals = [0.0] * len(scorers)  # of the outcomes folded in (`_fold`)
        self._scored = [0] * len(scorers)
        # How many jobs had each outcome (every scorer's value) since the last fold: a run's jobs share
        # a handful of outcomes, so one count per job does what a total and a count per scorer did.
        self._outcomes: Counter[tuple[float | None, ...]] = Counter()

    def add(self, row_key: Hashable, values: Sequence[float | None]) -> None:
        """One job of the row: each scorer's score, None where unscored (failed, canceled, unreadable)."""
        self.add_many(self._rows.numbers((row_key,)), [tuple(values)])

    def add_many(self, numbers: Sequence[int], values: Sequence[tuple[float | None, ...]]) -> None:
        """Jobs of rows already numbered by the shared RowIndex, and each one's values (as for `add`)."""
        if not numbers:
            return
        counts = self._counts
        last = max(numbers)
        if last >= len(counts):
            # Grown by half again at least: an array made per new row cost more than the rest of `add`.
            # Rows past the last one seen stay at count 0, which the bootstrap leaves out.
            grow = max(last + 1 - len(counts), len(counts) // 2, 64)
            counts.frombytes(bytes(counts.itemsize * grow))
            for _, sums in self._bootstrapped:
                sums.frombytes(bytes(sums.itemsize * grow))  # 0.0 is all zero bytes
        for number in numbers:
            counts[number] += 1
        outcomes = self._outcomes
        outcomes.update(values)
        if len(outcomes) > _OUTCOMES_KEPT:  # scores that differ job by job: totals keep the memory flat
            self._fold()
        for i, sums in self._bootstrapped:
            for number, job in zip(numbers, values):
                value = job[i]
                if value is not None:
                    sums[number] += value

    def _fold(self) -> None:
        """Add the outcomes counted so far to each scorer's total and count of scored jobs."""
        totals, scored = self._totals, self._scored
        for values, jobs in self._outcomes.items():
            for i, value in enumerate(values):
                if value is not None:
                    totals[i] += value * jobs
                    scored[i] += jobs
        self._outcomes.clear()

    def results(self) -> list[Aggregate]:
        """Each scorer's aggregate of the jobs fed so far, in order."""
        self._fold()
        counts = self._counts
        n, rows = sum(counts), len(counts) - counts.count(0)  # rows never seen have count 0
        return [self._result(i, n, rows) for i in range(len(self.methods))]

    def _result(self, i: int, n: int, rows: int) -> Aggregate:
        total, method = self._totals[i], self.methods[i]
        mean = total / n if n else None
        low = high = None
        if n and method == "wilson":
            low, high = wilson_interval(total, n)
        elif n:
            sums = self._sums[i]
            assert sums is not None
            low, high = bootstrap_rows(sums, self._counts)  # rows never seen have count 0: left out
        return Aggregate(
            mean=mean,
            ci_low=low,
            ci_high=high,
            n=n,
            rows=rows,
            scored=self._scored[i],
            threshold=self.thresholds[i],
            passed=meets(mean, self.thresholds[i]),
            method=method,
        )


class ScoreAccumulator:
    """The jobs of one set under one scorer (`ScoreAccumulators` of one)."""

    def __init__(
        self,
        *,
        binary: bool,
        repeat: int = 1,
        threshold: float | None = None,
        rows: RowIndex | None = None,
    ) -> None:
        self._one = ScoreAccumulators([(binary, threshold)], repeat=repeat, rows=rows)
        self.method = self._one.methods[0]
        self.threshold = threshold

    def add(self, row_key: Hashable, value: float | None) -> None:
        """One job of the row: its score, or None when unscored (failed, canceled, not readable, ...)."""
        self._one.add(row_key, (value,))

    def result(self) -> Aggregate:
        """The aggregate of the jobs fed so far."""
        return self._one.results()[0]
