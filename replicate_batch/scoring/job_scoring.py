"""Scoring each job as it finishes: the step between the executor and the run folder's writer.

`JobScoring` holds a run's checked scorers and gives a finished `JobResult` its scores. A run calls
it twice per job (`Part`): in the worker thread that ran the job (so python scorers run in parallel),
then in the writer's thread. `--resume` calls it once on the results it keeps, and `rescore` once on
every result of a finished run: the same scorers see the same facts in all three. Judges, scorers that
need a prediction of their own, are scored by the `judge` step the runner gives (`execution.judging`:
the judge's prediction through the executor).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ..runfolder.results import JobResult, ScoreCell
from .config import PythonEntry
from .facts import Check, JobFacts
from .judge import Judge
from .score import Score, unscored
from .scorer import AnyScorer, applies_to, score_facts

JudgeStep = Callable[[Judge, JobFacts, JobResult], Score]
"""A judge's score for a succeeded job (its facts and its result): what runs the judge's prediction."""

# How one scorer scores one job, bound when a model's scorers are first asked for: (name, the check of
# the job's facts) for a scorer, (name, the judge) for a judge, which `judge` asks; and whether it runs
# in the job's worker (True: python scorers and judges) or in the writer (False: the built-in kinds,
# microseconds of work that never wait).
_Bound = tuple[str, Check | Judge, bool]


class _ModelScorers(NamedTuple):
    """A model's scorers in spec order, each bound, and which steps of a run have any (`in_worker`s)."""

    scorers: tuple[AnyScorer, ...]
    bound: tuple[_Bound, ...]
    steps: frozenset[bool]


Part = Literal["all", "worker", "writer"]
"""Which of a job's scorers a call scores: every one (`rescore`, `--resume`), or a run's two steps.

A run scores a job in two steps that give the same scores as one: in its worker, the python scorers and
judges, which may take long or wait and so run several at once; then in the writer, the built-in kinds,
for every job the writer records in one batch (a loop over the same code, with no thread hand-off
between jobs), each job's scores in spec order.
"""


class JobScoring:
    """A run's scorers, ready to score finished jobs; safe to call from worker threads."""

    def __init__(self, scorers: Sequence[AnyScorer], run_dir: Path, judge: JudgeStep | None = None) -> None:
        self.scorers = tuple(scorers)
        self.run_dir = run_dir  # output files are scored where the run folder keeps them
        self.judge_step = judge
        self._by_model: dict[str, _ModelScorers] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The scorers' names, in spec order (the `score.<name>` columns)."""
        return tuple(scorer.name for scorer in self.scorers)

    def applying(self, model: str) -> tuple[AnyScorer, ...]:
        """The scorers that score this model's jobs, in spec order."""
        return self._bound(model).scorers

    def _bound(self, model: str) -> _ModelScorers:
        """The model's scorers, and each bound to how it scores a job (this runs for every job)."""
        found = self._by_model.get(model)
        if found is None:  # a race between workers only computes the same tuples twice
            scorers = tuple(scorer for scorer in self.scorers if applies_to(scorer, model))
            bound = tuple(self._bind(scorer) for scorer in scorers)
            steps = frozenset(in_worker for _, _, in_worker in bound)
            found = self._by_model[model] = _ModelScorers(scorers, bound, steps)
        return found

    def _bind(self, scorer: AnyScorer) -> _Bound:
        if isinstance(scorer, Judge):
            return scorer.name, scorer, True
        in_worker = isinstance(scorer.entry, PythonEntry)
        if scorer.entry.field is None:
            return scorer.name, scorer.check, in_worker
        return scorer.name, lambda facts: score_facts(scorer, facts), in_worker

    def score(self, result: JobResult, row: Mapping[str, Any], part: Part = "all") -> JobResult:
        """The result with the scores of the scorers that apply to its model; none unless it succeeded.

        `row` is the job's row as scorers see it (`row_fields`). Never raises for a scorer's mistake:
        it becomes the job's note. `part`: see `Part`.
        """
        scores = self.scores(result, row, part)
        return result if scores == result.scores else result.with_scores(scores)

    def scores(self, result: JobResult, row: Mapping[str, Any], part: Part = "all") -> tuple[ScoreCell, ...]:
        """The scores `score` gives the result, alone. The `writer` part keeps the worker's, as the
        result has them, and gives the others, in spec order."""
        if result.status != "succeeded":
            return ()
        _, bound, steps = self._bound(result.model)
        if not bound:
            return ()
        if part != "all" and (part == "worker") not in steps:
            return result.scores if part == "writer" else ()  # nothing of this part for this model
        facts = self._facts(result, row)
        given = {cell[0]: cell for cell in result.scores} if part == "writer" else {}
        cells = []
        for name, how, in_worker in bound:  # a flat loop: this runs for every job and scorer
            if part != "all" and in_worker != (part == "worker"):
                if name in given:
                    cells.append(given[name])
                continue
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
        judges = [how for _, how, _ in self._bound(result.model).bound if isinstance(how, Judge)]
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
