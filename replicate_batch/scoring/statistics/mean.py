"""The mean of a scorer's jobs: an unscored job counts 0, so failing can never raise a mean."""

from __future__ import annotations

from collections.abc import Iterable


def mean_score(values: Iterable[float | None]) -> float | None:
    """The mean of the scores, None counting 0; None when there are no jobs."""
    total = 0.0
    count = 0
    for value in values:
        total += value or 0.0
        count += 1
    return total / count if count else None


def scored_count(values: Iterable[float | None]) -> int:
    """How many jobs got a score."""
    return sum(value is not None for value in values)
