"""Progress while the run goes (tqdm, or plain lines off a terminal) and the summary at the end."""

from __future__ import annotations

import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm import tqdm

from ..clock import Clock
from ..runfolder.results import JobResult

PLAIN_EVERY_S = 5.0


@dataclass
class ModelTally:
    """Counts and times of one model's finished jobs."""

    counts: Counter[str] = field(default_factory=Counter)
    wall_times: list[float] = field(default_factory=list)
    predict_time: float = 0.0

    def add(self, result: JobResult) -> None:
        """Count one result."""
        self.counts[result.status] += 1
        if result.wall_time is not None:
            self.wall_times.append(result.wall_time)
        self.predict_time += result.predict_time or 0.0


class Progress:
    """Shows done / failed / in flight, rate and ETA on stderr."""

    def __init__(
        self,
        total: int,
        *,
        quiet: bool,
        clock: Clock,
        stream: TextIO | None = None,
        models: list[str] | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.quiet = quiet
        self.clock = clock
        self.tallies: dict[str, ModelTally] = defaultdict(ModelTally, {m: ModelTally() for m in models or []})
        self.done = 0
        self.failed = 0
        self._started = clock.monotonic()
        self._last_line = self._started
        self._bar: tqdm[Any] | None = None
        if not quiet and self.stream.isatty():
            self._bar = tqdm(total=total, file=self.stream, unit="pred", dynamic_ncols=True)

    def add(self, result: JobResult, in_flight: int) -> None:
        """Count a finished job and refresh the display."""
        self.tallies[result.model].add(result)
        self.done += 1
        self.failed += result.status != "succeeded"
        if self._bar is not None:
            self._bar.set_postfix_str(f"failed={self.failed} in_flight={in_flight}", refresh=False)
            self._bar.update(1)
            return
        now = self.clock.monotonic()
        if not self.quiet and (now - self._last_line >= PLAIN_EVERY_S or self.done == self.total):
            self._last_line = now
            elapsed = max(now - self._started, 1e-9)
            rate = self.done / elapsed
            eta = (self.total - self.done) / rate if rate else 0.0
            print(
                f"{self.done}/{self.total} done, {self.failed} failed, {in_flight} in flight, "
                f"{rate:.2f}/s, ETA {eta:.0f}s",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def summary_table(tallies: dict[str, ModelTally]) -> str:
    """A small fixed-width table: one line per model, then the total."""
    header = ("model", "jobs", "succeeded", "failed", "canceled", "median_s", "predict_s")
    lines: list[tuple[str, ...]] = [header]
    total = ModelTally()
    for model, tally in tallies.items():
        lines.append(_line(model, tally))
        total.counts.update(tally.counts)
        total.wall_times.extend(tally.wall_times)
        total.predict_time += tally.predict_time
    if len(tallies) > 1:
        lines.append(_line("total", total))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in lines
    )


def _line(model: str, tally: ModelTally) -> tuple[str, ...]:
    jobs = sum(tally.counts.values())
    median = f"{statistics.median(tally.wall_times):.2f}" if tally.wall_times else "-"
    return (
        model,
        str(jobs),
        str(tally.counts["succeeded"]),
        str(tally.counts["failed"]),
        str(tally.counts["canceled"]),
        median,
        f"{tally.predict_time:.2f}",
    )
