"""Statistics of scores: the mean (unscored counting 0), Wilson's interval, the bootstrap over rows."""

from .aggregate import (
    Aggregate,
    Method,
    RowIndex,
    ScoreAccumulator,
    ScoreAccumulators,
    interval_method,
    interval_text,
    meets,
)
from .bootstrap import bootstrap_interval, bootstrap_rows
from .mean import mean_score, scored_count
from .wilson import wilson_interval

__all__ = [
    "Aggregate",
    "Method",
    "RowIndex",
    "ScoreAccumulator",
    "ScoreAccumulators",
    "bootstrap_interval",
    "bootstrap_rows",
    "interval_method",
    "interval_text",
    "mean_score",
    "meets",
    "scored_count",
    "wilson_interval",
]
