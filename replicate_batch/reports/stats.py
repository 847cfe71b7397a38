"""Per-model statistics of a run: jobs by status, median and p90 wall time, total predict time, and
where predictions report them, total input and output tokens and the median time to first token.

The one place they are computed: the summary table at the end of a run (from its results as they
come), report.html and `compare` (from results.csv) all count through `StatsTally`.
"""

from __future__ import annotations

import statistics
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..runfolder.results import METRIC_PREFIX

# The metrics the statistics read (Replicate's language models report them).
INPUT_TOKENS, OUTPUT_TOKENS, FIRST_TOKEN_S = "input_token_count", "output_token_count", "time_to_first_token"


def seconds(cell: str | None) -> float | None:
    """A `wall_time` / `predict_time` (or `metric.*`) cell as a number, None when empty or unreadable."""

    try:
        return float(cell) if cell else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ModelStats:
    """Jobs by status and timing of one model (or `total`) in one run."""

    model: str
    jobs: int
    succeeded: int
    failed: int
    canceled: int
    median_wall_s: float | None
    p90_wall_s: float | None
    predict_s: float
    input_tokens: float | None = None  # None: no prediction reported it
    output_tokens: float | None = None
    median_first_token_s: float | None = None

    @property
    def reports_tokens(self) -> bool:
        """Whether any of its predictions reported token counts or a time to first token."""
        return (self.input_tokens, self.output_tokens, self.median_first_token_s) != (None, None, None)


class _Tally:
    """One model's running counts, predict-time sum and wall times (8 bytes a job, 16 with tokens)."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.walls = array("d")
        self.predict_s = 0.0
        self.tokens: dict[str, float] = {}  # sums of the token counts reported
        self.first_tokens = array("d")

    def add(
        self, status: str, wall_s: float | None, predict_s: float | None, metrics: Mapping[str, float]
    ) -> None:
        self.statuses[status] += 1
        if wall_s is not None:
            self.walls.append(wall_s)
        self.predict_s += predict_s or 0.0
        for name in (INPUT_TOKENS, OUTPUT_TOKENS):
            if name in metrics:
                self.tokens[name] = self.tokens.get(name, 0.0) + metrics[name]
        if FIRST_TOKEN_S in metrics:
            self.first_tokens.append(metrics[FIRST_TOKEN_S])

    def stats(self, model: str) -> ModelStats:
        walls = sorted(self.walls)
        return ModelStats(
            model=model,
            jobs=self.statuses.total(),
            succeeded=self.statuses["succeeded"],
            failed=self.statuses["failed"],
            canceled=self.statuses["canceled"],
            median_wall_s=statistics.median(walls) if walls else None,
            p90_wall_s=percentile(walls, 0.9),
            predict_s=self.predict_s,
            input_tokens=self.tokens.get(INPUT_TOKENS),
            output_tokens=self.tokens.get(OUTPUT_TOKENS),
            median_first_token_s=statistics.median(self.first_tokens) if self.first_tokens else None,
        )


class StatsTally:
    """`ModelStats` per model and in total, gathered one record at a time (a run need not fit in memory)."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self._models = {name: _Tally() for name in models}
        self._total = _Tally()

    def add(self, record: Mapping[str, str]) -> None:
        """Count one `results.csv` row (every value the string the run wrote)."""
        wall_s, predict_s = seconds(record.get("wall_time")), seconds(record.get("predict_time"))
        metrics = {
            name: value
            for name in (INPUT_TOKENS, OUTPUT_TOKENS, FIRST_TOKEN_S)
            if (value := seconds(record.get(METRIC_PREFIX + name))) is not None
        }
        self.count(record["model"], record.get("status", ""), wall_s, predict_s, metrics)

    def count(
        self,
        model: str,
        status: str,
        wall_s: float | None,
        predict_s: float | None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Count one finished job of `model`, with the metrics its prediction reported."""
        tally = self._models.get(model)
        if tally is None:
            tally = self._models[model] = _Tally()
        tally.add(status, wall_s, predict_s, metrics or {})
        self._total.add(status, wall_s, predict_s, metrics or {})

    @property
    def model_names(self) -> list[str]:
        """The models given at the start, then any others in the order their first record came."""
        return list(self._models)

    @property
    def jobs(self) -> int:
        """How many records were counted."""
        return self._total.statuses.total()

    def stats(self, *, every_model: bool = False) -> list[ModelStats]:
        """One `ModelStats` per model that has jobs (`every_model`: per model), in `model_names` order,
        then `total`."""
        rows = [tally.stats(name) for name, tally in self._models.items() if every_model or tally.statuses]
        return [*rows, self._total.stats("total")]


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of already sorted values (None for none)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
