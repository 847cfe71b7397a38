"""A run's scoring as the runner and `rescore` drive it: each job's step, the aggregates, what they mean.

`RunScoring` ties `JobScoring` (a finished job scored, in its worker thread) to the `ScoreBoard`
(the aggregates of what results.csv holds: the run folder's tally) and says what they come to:
the manifest's `scores` and `scores_by`, the gates not met, the summary's score columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..reports.stats import ModelStats
from ..runfolder.manifest import Manifest
from ..runfolder.results import JobResult
from .board import Aggregates, GroupAggregates, ScoreBoard, gate_failures, scores_by_json, scores_json
from .facts import RowLike, row_fields
from .job_scoring import JobScoring, JudgeStep
from .scorer import AnyScorer
from .summary import scored_summary


@dataclass(frozen=True)
class ScoringOutcome:
    """The aggregates of a run's results and the thresholds they did not meet."""

    scores: Aggregates = field(default_factory=dict)
    scores_by: GroupAggregates = field(default_factory=dict)
    gate_failures: Sequence[str] = ()
    unscored: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # the board's `unscored_notes`


class RunScoring:
    """One run's (or one rescore's) scorers, applied to each job and aggregated over all of them."""

    def __init__(
        self,
        scorers: Sequence[AnyScorer],
        run_dir: Path,
        *,
        models: Sequence[str],
        repeat: int,
        group_by: Sequence[str] = (),
        judge: JudgeStep | None = None,
    ) -> None:
        self.scorers = tuple(scorers)
        self.jobs = JobScoring(scorers, run_dir, judge)
        self.board = ScoreBoard(scorers, models=models, repeat=repeat, group_by=group_by)

    @property
    def names(self) -> list[str]:
        """The scorers' names, in spec order."""
        return list(self.jobs.names)

    def score(self, result: JobResult, row: RowLike | Mapping[str, Any]) -> JobResult:
        """A finished job's result with its scores; `row` is the job's Row or its fields already read."""
        return self.jobs.score(result, row if isinstance(row, Mapping) else row_fields(row))

    def judge(self, result: JobResult, row: RowLike | Mapping[str, Any]) -> None:
        """Ask the judges of a succeeded result (what `score` then reads); `row` as for `score`."""
        self.jobs.judge_all(result, row if isinstance(row, Mapping) else row_fields(row))

    def outcome(self) -> ScoringOutcome:
        """The aggregates so far and the gates they fail."""
        scores = self.board.aggregates()
        return ScoringOutcome(
            scores, self.board.group_aggregates(), gate_failures(scores), self.board.unscored_notes()
        )

    def write_into(self, manifest: Manifest, outcome: ScoringOutcome) -> None:
        """Put the aggregates in the manifest (`scores`, `scores_by`; none without scorers)."""
        manifest.scores = scores_json(outcome.scores) if self.scorers else None
        manifest.scores_by = scores_by_json(outcome.scores_by) or None

    def summary(self, stats: Sequence[ModelStats], outcome: ScoringOutcome) -> str:
        """The summary table per model with a column per scorer, then a table per group field, then
        the succeeded jobs left unscored."""
        return scored_summary(stats, outcome.scores, outcome.scores_by, self.names, outcome.unscored)
