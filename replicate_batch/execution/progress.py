"""Progress while the run goes (tqdm, or plain lines off a terminal) and the summary at the end."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from tqdm import tqdm

from ..clock import Clock
from ..reports.stats import ModelStats, StatsTally
from ..runfolder.results import JobResult

if TYPE_CHECKING:
    from .judging import JudgeStats

PLAIN_EVERY_S = 5.0


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
        judging: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.judging = judging  # (judge predictions ended, expected): counted apart from the jobs
        self.total = total
        self.quiet = quiet
        self.clock = clock
        self.tally = StatsTally(models or [])
        self.done = 0
        self.failed = 0
        self._started = clock.monotonic()
        self._last_line = self._started
        self._bar: tqdm[Any] | None = None
        if not quiet and self.stream.isatty():
            self._bar = tqdm(total=total, file=self.stream, unit="pred", dynamic_ncols=True)

    def _tally(self, result: JobResult) -> None:
        self.tally.count(result.model, result.status, result.wall_time, result.predict_time, result.metrics)

    def keep(self, results: Iterable[JobResult]) -> None:
        """Results kept from before (`--resume`): counted in the summary's table, which describes the
        whole run as its scores do, but not as done now (the count and the rate are this session's)."""
        for result in results:
            self._tally(result)

    def add(self, result: JobResult, in_flight: int) -> None:
        """Count a finished job and refresh the display."""
        self._tally(result)
        self.done += 1
        self.failed += result.status != "succeeded"
        judging = ""
        if self.judging is not None:
            judged, expected = self.judging()
            judging = f"judging {judged}/{expected}"
        if self._bar is not None:
            postfix = f"failed={self.failed} in_flight={in_flight}" + (f" {judging}" if judging else "")
            self._bar.set_postfix_str(postfix, refresh=False)
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
                + (f"{judging}, " if judging else "")
                + f"{rate:.2f}/s, ETA {eta:.0f}s",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def summary_table(stats: Sequence[ModelStats], scores: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A small fixed-width table: one line per model, then the total (when there are several models).

    Where some prediction reported them: total input and output tokens, median time to first token.
    `scores` adds a column per scorer: its name -> model -> the cell (`0.75 [0.60, 0.86]`); `-` where
    the scorer does not apply to a model.
    """
    scores = scores or {}
    header: tuple[str, ...] = ("model", "jobs", "succeeded", "failed", "canceled", "median_s", "predict_s")
    tokens = any(s.reports_tokens for s in stats)
    if tokens:
        header += ("in_tokens", "out_tokens", "first_token_s")
    lines: list[tuple[str, ...]] = [(*header, *scores)]
    for s in stats if len(stats) > 2 else stats[:-1]:
        cells = ("" if s.model == "total" else column.get(s.model, "-") for column in scores.values())
        lines.append((*_line(s, tokens), *cells))
    return fixed_width(lines)


def judge_table(stats: Sequence[JudgeStats]) -> str:
    """One line per judge scorer: its predictions, the failed ones, the jobs judged by a reply already
    known, and the predictions' model time (`JudgeStats`)."""
    lines: list[tuple[str, ...]] = [("judge", "predictions", "failed", "reused", "predict_s")]
    lines += [
        (s.scorer, str(s.predictions), str(s.failed), str(s.reused), f"{s.predict_s:.2f}") for s in stats
    ]
    return fixed_width(lines)


def fixed_width(lines: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Rows of cells as aligned text: the first `left` columns to the left, the others to the right."""
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    aligned = (
        "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        for row in lines
    )
    return "\n".join(line.rstrip() for line in aligned)


def _line(stats: ModelStats, tokens: bool) -> tuple[str, ...]:
    median = "-" if stats.median_wall_s is None else f"{stats.median_wall_s:.2f}"
    token_cells = (
        _number(stats.input_tokens, "{:.0f}"),
        _number(stats.output_tokens, "{:.0f}"),
        _number(stats.median_first_token_s, "{:.2f}"),
    )
    return (
        stats.model,
        str(stats.jobs),
        str(stats.succeeded),
        str(stats.failed),
        str(stats.canceled),
        median,
        f"{stats.predict_s:.2f}",
    ) + (token_cells if tokens else ())


def _number(value: float | None, shape: str) -> str:
    return "-" if value is None else shape.format(value)
