"""The run's aggregates as the writer feeds them (`ScoreBoard`): held in batches, asked at any time."""

from __future__ import annotations

import random
from typing import Any

from replicate_batch.runfolder.results import ScoreCell
from replicate_batch.scoring.board import Aggregates, ScoreBoard
from replicate_batch.scoring.statistics import Aggregate, RowIndex, ScoreAccumulators

from .scoring_helpers import build

Job = tuple[str, str, dict[str, Any], tuple[ScoreCell, ...]]  # model, row id, metadata, scores
Figures = tuple[float | None, float | None, float | None, int, int, int]


def _figures(a: Aggregate) -> Figures:
    return a.mean, a.ci_low, a.ci_high, a.n, a.rows, a.scored


def test_jobs_fed_one_at_a_time_aggregate_as_accumulators_fed_each_job_do() -> None:
    # The board adds its jobs a batch at a time: jobs of two models and three group values, asked for
    # its aggregates midway through a batch and at the end, give what accumulators fed each job give,
    # with group values in the order they first came.
    scorers = [
        build({"name": "exact", "equals": "x"}),
        build({"name": "loud", "contains": "X", "models": ["words"]}),
    ]
    board = ScoreBoard(scorers, models=["caption", "words"], repeat=2, group_by=["lang"])
    generator = random.Random(3)
    jobs: list[Job] = []
    for i in range(1_300):
        model = ("caption", "words")[i % 2]
        lang = "en" if i < 200 else ("en", "fr", "de")[i % 3] if i < 900 else "de"
        exact = generator.choice((0.0, 1.0, None))
        cells: list[ScoreCell] = [("exact", exact, "" if exact is not None else "failed")]
        if model == "words":
            cells.append(("loud", generator.choice((0.0, 1.0)), ""))
        jobs.append((model, str(i // 4), {"lang": lang}, tuple(cells)))

    def expected(subset: list[Job]) -> dict[str, list[Figures]]:
        rows = RowIndex()
        found = {}
        for model, names in (("caption", ["exact"]), ("words", ["exact", "loud"])):
            accumulators = ScoreAccumulators([(True, None)] * len(names), repeat=2, rows=rows)
            for job_model, row_id, _, cells in subset:
                if job_model == model:
                    values = {name: value for name, value, _ in cells}
                    accumulators.add(row_id, [values.get(name) for name in names])
            found[model] = [_figures(a) for a in accumulators.results()]
        return found

    def aggregated(aggregates: Aggregates) -> dict[str, list[Figures]]:
        return {model: [_figures(a) for a in by_scorer.values()] for model, by_scorer in aggregates.items()}

    for job in jobs[:700]:
        board.add_scores(*job)
    assert aggregated(board.aggregates()) == expected(jobs[:700])
    for job in jobs[700:]:
        board.add_scores(*job)
    assert aggregated(board.aggregates()) == expected(jobs)
    groups = board.group_aggregates()["lang"]
    assert list(groups) == ["en", "de", "fr"] == list(dict.fromkeys(job[2]["lang"] for job in jobs))
    for lang, aggregates in groups.items():
        assert aggregated(aggregates) == expected([job for job in jobs if job[2]["lang"] == lang])
    board.reset()
    assert board.aggregates() == {}
