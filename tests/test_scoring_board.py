"""The run's aggregates as the writer feeds them (`ScoreBoard`): held in batches, asked at any time."""

from __future__ import annotations

import random
from typing import Any

from replicate_batch.reports.stats import ModelStats
from replicate_batch.runfolder.results import ScoreCell
from replicate_batch.scoring.board import Aggregates, ScoreBoard
from replicate_batch.scoring.statistics import Aggregate, RowIndex, ScoreAccumulators
from replicate_batch.scoring.summary import unscored_lines

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


def test_the_board_keeps_each_scorers_first_unscored_note_and_the_summary_shows_it_on_one_line() -> None:
    scorers = [build({"name": "exact", "equals": "x"}), build({"name": "graded", "contains": "y"})]
    board = ScoreBoard(scorers, models=["caption"], repeat=1)
    reply = "I cannot tell.\nThe answer might be A, or B, " + "or something else " * 20
    jobs: list[tuple[ScoreCell, ...]] = [
        (("exact", 1.0, ""), ("graded", 1.0, "")),
        (),  # failed: no scores, and no note to keep
        (("exact", None, "no field `label` in the output"), ("graded", None, reply)),
        (("exact", None, "a later note"), ("graded", 0.0, "")),
    ]
    for number, scores in enumerate(jobs):
        board.add_scores("caption", str(number), {}, scores)
    notes = board.unscored_notes()
    assert notes == {"caption": {"exact": "no field `label` in the output", "graded": reply}}

    stats = [ModelStats(model, 4, 3, 1, 0, None, None, 0.0) for model in ("caption", "total")]
    lines = unscored_lines(stats, board.aggregates(), notes)
    assert lines[:2] == [
        "unscored, each counting 0 in its model's mean:",
        "  caption / exact: 2 of 3 succeeded jobs; first note: no field `label` in the output",
    ]
    graded = lines[2]
    assert graded.startswith("  caption / graded: 1 of 3 succeeded jobs; first note: I cannot tell. The")
    assert graded.endswith("…") and "\n" not in graded and len(graded.split("first note: ")[1]) == 160
    assert unscored_lines(stats, board.aggregates(), {}) == [
        lines[0],
        "  caption / exact: 2 of 3 succeeded jobs",
        "  caption / graded: 1 of 3 succeeded jobs",
    ]
