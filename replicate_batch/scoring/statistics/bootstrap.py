"""A seeded percentile bootstrap of the mean that resamples rows, so repeats of a row stay together.

Jobs of one row (its repeats, its matrix values) are not independent: resampling jobs would give an
interval too narrow. Each resample draws rows with replacement and takes the mean over their jobs.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

RESAMPLES = 2000
SEED = 0
_CHUNK_CELLS = 250_000  # row draws held at once: a few MB however many rows and resamples


def bootstrap_rows(
    sums: Sequence[float],
    counts: Sequence[int],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """The interval of the mean over jobs, from each row's sum of scores and its number of jobs."""
    import numpy as np  # loaded only when an interval is computed: importing the package stays cheap

    if not sums or len(sums) != len(counts):
        raise ValueError("the bootstrap needs at least one row, with a sum and a count each")
    row_sums = np.asarray(sums, dtype=np.float64)
    row_counts = np.asarray(counts, dtype=np.float64)
    rows = len(row_sums)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // rows)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn: Any = rng.integers(0, rows, size=(size, rows))
        means[start : start + size] = row_sums[drawn].sum(axis=1) / row_counts[drawn].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


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
