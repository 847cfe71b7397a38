"""A seeded percentile bootstrap of the mean that resamples rows, so repeats of a row stay together.

Jobs of one row (its repeats, its matrix values) are not independent: resampling jobs would give an
interval too narrow. Each resample draws as many rows as there are, with replacement, and takes the
mean over their jobs.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

RESAMPLES = 2000
SEED = 0
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
    (lists, or arrays: a run of 100,000 rows hands over arrays)."""
    import numpy as np  # loaded only when an interval is computed: importing the package stays cheap

    if len(sums) == 0 or len(sums) != len(counts):
        raise ValueError("the bootstrap needs at least one row, with a sum and a count each")
    rows = np.column_stack([np.asarray(sums, dtype=np.float64), np.asarray(counts, dtype=np.float64)])
    kinds, frequency = np.unique(rows, axis=0, return_counts=True)
    rng = np.random.default_rng(seed)
    if len(kinds) * 4 <= len(rows):
        means = _by_kind(rng, kinds, frequency, len(rows), resamples)
    else:
        means = _by_row(rng, rows, resamples)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


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
