"""Per model and scorer: the mean with its 95% interval, how many jobs, rows and scores, and the gate."""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from .bootstrap import bootstrap_rows
from .wilson import wilson_interval

Method = Literal["wilson", "bootstrap"]
# A mean computed from decimal scores may land a hair under a threshold it meets in decimal.
_THRESHOLD_SLACK = 1e-12


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

    def number(self, key: Hashable) -> int:
        """The row's number: 0 for the first key seen, then 1, 2, ..."""
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self._numbers)
        return number

    def __len__(self) -> int:
        return len(self._numbers)


class ScoreAccumulator:
    """Scores fed one job at a time; keeps a job count per row (4 bytes), and a sum too for the bootstrap."""

    def __init__(
        self,
        *,
        binary: bool,
        repeat: int = 1,
        threshold: float | None = None,
        rows: RowIndex | None = None,
    ) -> None:
        self.method = interval_method(binary, repeat)
        self.threshold = threshold
        self._rows = rows if rows is not None else RowIndex()
        self._counts = array("I")  # jobs per row number: which rows this scorer saw
        self._sums = array("d")  # score sum per row number, for the bootstrap only
        self._n = 0
        self._scored = 0
        self._total = 0.0
        self._rows_seen = 0

    def add(self, row_key: Hashable, value: float | None) -> None:
        """One job of the row: its score, or None when unscored (failed, canceled, not readable, ...)."""
        self.add_at(self._rows.number(row_key), value)

    def add_at(self, number: int, value: float | None) -> None:
        """`add` for a row already numbered by the shared RowIndex (once per job, not per scorer)."""
        if number >= len(self._counts):
            # Grown by half again at least: an array made per new row cost more than the rest of `add`.
            # Rows past the last one seen stay at count 0, which `result` leaves out.
            grow = max(number + 1 - len(self._counts), len(self._counts) // 2, 64)
            self._counts.frombytes(bytes(self._counts.itemsize * grow))
            if self.method == "bootstrap":
                self._sums.frombytes(bytes(self._sums.itemsize * grow))  # 0.0 is all zero bytes
        if not self._counts[number]:
            self._rows_seen += 1
        self._counts[number] += 1
        self._n += 1
        if value is not None:
            self._total += value
            self._scored += 1
            if self.method == "bootstrap":
                self._sums[number] += value

    def result(self) -> Aggregate:
        """The aggregate of the jobs fed so far."""
        mean = self._total / self._n if self._n else None
        low = high = None
        if self._n and self.method == "wilson":
            low, high = wilson_interval(self._total, self._n)
        elif self._n:
            import numpy as np  # the bootstrap needs it anyway; arrays, not lists, for 100,000s of rows

            counts = np.frombuffer(self._counts, dtype=f"u{self._counts.itemsize}")
            present = counts > 0
            low, high = bootstrap_rows(np.frombuffer(self._sums, dtype=np.float64)[present], counts[present])
        return Aggregate(
            mean=mean,
            ci_low=low,
            ci_high=high,
            n=self._n,
            rows=self._rows_seen,
            scored=self._scored,
            threshold=self.threshold,
            passed=meets(mean, self.threshold),
            method=self.method,
        )
