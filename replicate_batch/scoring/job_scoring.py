"""Scoring each job as it finishes: the step between the executor and the run folder's writer.

`JobScoring` holds a run's checked scorers and gives a finished `JobResult` its scores. A run calls
it in the worker thread that ran the job (so python scorers and judges run several at once),
`--resume` on the results it keeps, and `rescore` on every result of a finished run: the same
scorers see the same facts in all three. Judges, scorers that need a prediction of their own, are
scored by the `judge` step the runner gives (`execution.judging`: the judge's prediction through
the executor).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..runfolder.results import JobResult, ScoreCell
from .facts import Check, JobFacts
from .judge import Judge
from .score import Score, unscored
from .scorer import AnyScorer, applies_to, score_facts

JudgeStep = Callable[[Judge, JobFacts, JobResult], Score]
"""A judge's score for a succeeded job (its facts and its result): what runs the judge's prediction."""

# How one scorer scores one job, bound when a model's scorers are first asked for: (name, the check of
# the job's facts) for a scorer, (name, the judge) for a judge, which `judge` asks.
_Bound = tuple[str, Check | Judge]


class _ModelScorers(NamedTuple):
    """A model's scorers in spec order, and each bound."""

    scorers: tuple[AnyScorer, ...]
    bound: tuple[_Bound, ...]


class _ByModel(dict[str, _ModelScorers]):
    """Each model's bound scorers, made by `bind` when the model's first job asks: a later job's is a
    plain dict lookup. Two workers racing on a model's first jobs only make the same tuples twice."""

    def __init__(self, bind: Callable[[str], _ModelScorers]) -> None:
        super().__init__()
        self.bind = bind

    def __missing__(self, model: str) -> _ModelScorers:
        found = self[model] = self.bind(model)
        return found


class JobScoring:
    """A run's scorers, ready to score finished jobs; safe to call from worker threads."""

    def __init__(self, scorers: Sequence[AnyScorer], run_dir: Path, judge: JudgeStep | None = None) -> None:
        self.scorers = tuple(scorers)
        self.run_dir = run_dir  # output files are scored where the run folder keeps them
        self.judge_step = judge
        self._by_model = _ByModel(self._model_scorers)

    @property
    def names(self) -> tuple[str, ...]:
        """The scorers' names, in spec order (the `score.<name>` columns)."""
        return tuple(scorer.name for scorer in self.scorers)

    def applying(self, model: str) -> tuple[AnyScorer, ...]:
        """The scorers that score this model's jobs, in spec order."""
        return self._by_model[model].scorers

    def _model_scorers(self, model: str) -> _ModelScorers:
        """The model's scorers, each bound to how it scores a job (once per model: `_ByModel`)."""
        scorers = tuple(scorer for scorer in self.scorers if applies_to(scorer, model))
        return _ModelScorers(scorers, tuple(self._bind(scorer) for scorer in scorers))

    def _bind(self, scorer: AnyScorer) -> _Bound:
        if isinstance(scorer, Judge):
            return scorer.name, scorer
        if scorer.entry.field is None:
            return scorer.name, scorer.check
        return scorer.name, lambda facts: score_facts(scorer, facts)

    def score(self, result: JobResult, row: Mapping[str, Any]) -> JobResult:
        """The result with the scores of the scorers that apply to its model; none unless it succeeded.

        `row` is the job's row as scorers see it (`row_fields`). Never raises for a scorer's mistake:
        it becomes the job's note.
        """
        scores = self.scores(result, row)
        return result if scores == result.scores else result.with_scores(scores)

    def scores(self, result: JobResult, row: Mapping[str, Any]) -> tuple[ScoreCell, ...]:
        """The scores `score` gives the result, alone, in spec order."""
        if result.status != "succeeded":
            return ()
        bound = self._by_model[result.model].bound
        if not bound:
            return ()
        facts = self._facts(result, row)
        cells = []
        for name, how in bound:  # a flat loop: this runs for every job and scorer
            try:
                score = self.judge(how, facts, result) if isinstance(how, Judge) else how(facts)
            except Exception as error:  # a mistake of ours in one kind must not lose the job's result
                score = unscored(f"internal error: {type(error).__name__}: {error}")
            cells.append((name, score.value, score.note))
        return tuple(cells)

    def judge_all(self, result: JobResult, row: Mapping[str, Any]) -> None:
        """Ask the judges that apply to a succeeded result (`rescore` does, ahead of scoring it)."""
        if result.status != "succeeded":
            return
        judges = [how for _, how in self._by_model[result.model].bound if isinstance(how, Judge)]
        if judges:
            facts = self._facts(result, row)
            for judge in judges:
                with contextlib.suppress(Exception):  # what it gives is read when the job is scored
                    self.judge(judge, facts, result)

    def _facts(self, result: JobResult, row: Mapping[str, Any]) -> JobFacts:
        output, value = result.output, result.output_value
        files = tuple(self.run_dir / name for name in result.files) if result.files else ()
        return JobFacts(output, value, row, result.input, files, result.model, output, value)

    def judge(self, judge: Judge, facts: JobFacts, result: JobResult) -> Score:
        """A judge's score for one job, by the judge step (without one, unscored: nothing can ask it)."""
        if self.judge_step is None:
            return unscored("the judge was not asked: no judge step")
        return self.judge_step(judge, facts, result)
