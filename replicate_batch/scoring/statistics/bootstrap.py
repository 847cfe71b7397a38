"""A seeded percentile bootstrap of the mean that resamples rows, so repeats of a row stay together.

Jobs of one row (its repeats, its matrix values) are not independent: resampling jobs would give an
interval too narrow. Each resample draws as many rows as there are, with replacement, and takes the
mean over their jobs.

Rows of the same sum and job count are alike to a resample, so it draws how many rows of each kind
(a multinomial) rather than which rows. Scores of a few values (pass/fail from a python scorer or a
judge, 0/1 scores repeated) make at most `FEW_KINDS` kinds: those resamples are drawn in pure Python
(`binomial.py`), which spares a run numpy's import (about 22 MB and a tenth of a second) for 2,000
draws of a few numbers. More kinds, and rows all unlike, are drawn with numpy.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .binomial import multinomial

if TYPE_CHECKING:
    from numpy.typing import NDArray

RESAMPLES = 2000
SEED = 0
FEW_KINDS = 8  # up to this many kinds of rows, resamples are drawn without numpy (~4 us a kind)
_CHUNK_CELLS = 1_000_000  # draws held at once: a few MB however many rows and resamples


def bootstrap_rows(
    sums: Sequence[float] | NDArray[Any],
    counts: Sequence[int] | NDArray[Any],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """The interval of the mean over jobs, from each row's sum of scores and its number of jobs
    (sequences or arrays: a run of 100,000 rows hands over arrays). Rows of no jobs are left out."""
    if len(sums) != len(counts):
        raise ValueError("the bootstrap needs a sum and a count for each row")
    kinds = Counter((float(total), int(count)) for total, count in zip(sums, counts) if count)
    if not kinds:
        raise ValueError("the bootstrap needs at least one row")
    tail = (1 - level) / 2
    if len(kinds) <= FEW_KINDS:
        means = sorted(_by_few_kinds(random.Random(seed), kinds, resamples))
        return _quantile(means, tail), _quantile(means, 1 - tail)
    import numpy as np  # loaded only for many kinds of rows: importing the package stays cheap

    rows = np.column_stack([np.asarray(sums, dtype=np.float64), np.asarray(counts, dtype=np.float64)])
    rows = rows[rows[:, 1] > 0]
    rng = np.random.default_rng(seed)
    if len(kinds) * 4 <= len(rows):
        ordered = sorted(kinds.items())  # the draws do not depend on the order rows came in
        kind_rows = np.array([kind for kind, _ in ordered], dtype=np.float64)
        frequency = np.array([frequency for _, frequency in ordered], dtype=np.float64)
        means = _by_kind(rng, kind_rows, frequency, len(rows), resamples)
    else:
        means = _by_row(rng, rows, resamples)
    low, high = np.percentile(means, [tail * 100, 100 - tail * 100])
    return float(low), float(high)


def _by_few_kinds(rng: random.Random, kinds: Counter[tuple[float, int]], resamples: int) -> list[float]:
    """Resample means, drawing how many rows of each kind; in pure Python, for a few kinds."""
    ordered = sorted(kinds.items())  # the draws do not depend on the order rows came in
    weights = [frequency for _, frequency in ordered]
    count = sum(weights)
    means = []
    for _ in range(resamples):
        drawn = multinomial(rng, count, weights)
        total = jobs = 0.0
        for rows, ((row_sum, row_jobs), _) in zip(drawn, ordered):
            total += rows * row_sum
            jobs += rows * row_jobs
        means.append(total / jobs)
    return means


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly between the two nearest (numpy's default)."""
    at = q * (len(ordered) - 1)
    below = int(at)
    if below + 1 >= len(ordered):
        return float(ordered[-1])
    low, high = ordered[below], ordered[below + 1]
    return float(low + (high - low) * (at - below))


def _by_row(rng: Any, rows: Any, resamples: int) -> Any:
    """Resample means, drawing row numbers."""
    import numpy as np

    count = len(rows)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // count)
    equal_counts = bool((rows[:, 1] == rows[0, 1]).all())
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, count, size=(size, count), dtype=np.int64 if count >= 2**31 else np.int32)
        totals = np.take(rows[:, 0], drawn).sum(axis=1)
        # Rows of as many jobs each (every row run `repeat` times) need no count per resample.
        jobs = count * rows[0, 1] if equal_counts else np.take(rows[:, 1], drawn).sum(axis=1)
        means[start : start + size] = totals / jobs
    return means


def _by_kind(rng: Any, kinds: Any, frequency: Any, count: int, resamples: int) -> Any:
    """Resample means, drawing how many rows of each kind (same sum, same count): the same distribution
    as drawing rows, in time that grows with the kinds rather than the rows (0/1 scores: a handful)."""
    import numpy as np

    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // len(kinds))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.multinomial(count, frequency / count, size=size)
        means[start : start + size] = (drawn @ kinds[:, 0]) / (drawn @ kinds[:, 1])
    return means


def bootstrap_interval(
    jobs: Iterable[tuple[Hashable, float | None]],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """The interval of the mean for (row key, score or None) pairs, None counting 0, rows resampled."""
    totals: dict[Hashable, list[float]] = {}
    for key, value in jobs:
        total = totals.setdefault(key, [0.0, 0])
        total[0] += value or 0.0
        total[1] += 1
    sums = [total[0] for total in totals.values()]
    counts = [int(total[1]) for total in totals.values()]
    return bootstrap_rows(sums, counts, resamples=resamples, seed=seed, level=level)
