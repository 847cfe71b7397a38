"""Scoring each job as it finishes: the step between the executor and the run folder's writer.

`JobScoring` holds a run's checked scorers and gives a finished `JobResult` its scores. A run calls
it in the worker thread that ran the job (so python scorers run in parallel), `--resume` on the
results it keeps, and `rescore` on every result of a finished run: the same scorers see the same
facts in all three. Judges, scorers that need a prediction of their own, are scored by the `judge`
step the runner gives (`execution.judging`: the judge's prediction through the executor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..runfolder.results import JobResult, ScoreCell
from .facts import JobFacts
from .judge import Judge
from .score import Score, unscored
from .scorer import AnyScorer, applies_to, score_facts

JudgeStep = Callable[[Judge, JobFacts, JobResult], Score]
"""A judge's score for a succeeded job (its facts and its result): what runs the judge's prediction."""

_Step = Callable[[JobFacts, JobResult], Score]
"""How one scorer scores one job, bound when a model's scorers are first asked for."""


class JobScoring:
    """A run's scorers, ready to score finished jobs; safe to call from worker threads."""

    def __init__(self, scorers: Sequence[AnyScorer], run_dir: Path, judge: JudgeStep | None = None) -> None:
        self.scorers = tuple(scorers)
        self.run_dir = run_dir  # output files are scored where the run folder keeps them
        self.judge_step = judge
        self._by_model: dict[str, tuple[tuple[AnyScorer, _Step], ...]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The scorers' names, in spec order (the `score.<name>` columns)."""
        return tuple(scorer.name for scorer in self.scorers)

    def applying(self, model: str) -> tuple[AnyScorer, ...]:
        """The scorers that score this model's jobs, in spec order."""
        return tuple(scorer for scorer, _ in self._steps(model))

    def _steps(self, model: str) -> tuple[tuple[AnyScorer, _Step], ...]:
        """Each scorer of the model with how it scores a job, bound once (this runs for every job)."""
        found = self._by_model.get(model)
        if found is None:  # a race between workers only computes the same tuple twice
            found = self._by_model[model] = tuple(
                (scorer, self._step(scorer)) for scorer in self.scorers if applies_to(scorer, model)
            )
        return found

    def _step(self, scorer: AnyScorer) -> _Step:
        if isinstance(scorer, Judge):
            return lambda facts, result: self.judge(scorer, facts, result)
        if scorer.entry.field is None:
            check = scorer.check
            return lambda facts, result: check(facts)
        return lambda facts, result: score_facts(scorer, facts)

    def score(self, result: JobResult, row: Mapping[str, Any]) -> JobResult:
        """The result with the scores of the scorers that apply to its model; none unless it succeeded.

        `row` is the job's row as scorers see it (`row_fields`). Never raises for a scorer's mistake:
        it becomes the job's note.
        """
        scores = self.scores(result, row)
        return result if scores == result.scores else result.with_scores(scores)

    def scores(self, result: JobResult, row: Mapping[str, Any]) -> tuple[ScoreCell, ...]:
        """The scores `score` gives the result, alone."""
        steps = self._steps(result.model) if result.status == "succeeded" else ()
        if not steps:
            return ()
        facts = self._facts(result, row)
        return tuple(_cell(scorer, step, facts, result) for scorer, step in steps)

    def judge_all(self, result: JobResult, row: Mapping[str, Any]) -> None:
        """Ask the judges that apply to a succeeded result (`rescore` does, ahead of scoring it)."""
        if result.status != "succeeded":
            return
        judges = [(scorer, step) for scorer, step in self._steps(result.model) if isinstance(scorer, Judge)]
        if judges:
            facts = self._facts(result, row)
            for judge, step in judges:
                _cell(judge, step, facts, result)

    def _facts(self, result: JobResult, row: Mapping[str, Any]) -> JobFacts:
        return JobFacts.of(
            output_text=result.output,
            output_value=result.output_value,
            row=row,
            input=result.input,
            files=[self.run_dir / name for name in result.files],
            model=result.model,
        )

    def judge(self, judge: Judge, facts: JobFacts, result: JobResult) -> Score:
        """A judge's score for one job, by the judge step (without one, unscored: nothing can ask it)."""
        if self.judge_step is None:
            return unscored("the judge was not asked: no judge step")
        return self.judge_step(judge, facts, result)


def _cell(scorer: AnyScorer, step: _Step, facts: JobFacts, result: JobResult) -> ScoreCell:
    try:
        score = step(facts, result)
    except Exception as error:  # a mistake of ours in one kind must not lose the job's result
        score = unscored(f"internal error: {type(error).__name__}: {error}")
    return scorer.name, score.value, score.note
