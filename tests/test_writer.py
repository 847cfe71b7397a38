"""The run folder's writer: jobs that finished together are recorded together, each as alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from replicate_batch.runfolder.results import OUTCOMES_CACHED, JobResult, ResultColumns
from replicate_batch.runfolder.writer import RunFolder
from replicate_batch.scoring.board import ScoreBoard

from .scoring_helpers import build


class _Tally:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def reset(self) -> None:
        self.seen.clear()

    def add(self, result: JobResult) -> None:
        self.seen.append(result.job_id)


def _result(job_id: str, status: str = "succeeded", **metrics: float) -> JobResult:
    return JobResult(job_id=job_id, model="m", row_id=job_id, repeat=0, status=status, metrics=metrics)  # type: ignore[arg-type]


def test_results_recorded_together_are_journaled_then_written_in_order_with_new_metric_columns(
    tmp_path: Path,
) -> None:
    folder = RunFolder.create(tmp_path, "w", ResultColumns())
    tally = _Tally()
    folder.tally = tally
    folder.open("name: w\n", {"m": "acme/m"}, "hash")
    folder.record(_result("a"))
    # The second brings a metric no row had, the third another: the header widens mid-batch.
    folder.record_all([_result("b", tokens=3), _result("c", "failed", cost=0.5), _result("d")])
    folder.close()

    with open(folder.path / "results.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    at = {name: header.index(name) for name in ("job_id", "status", "metric.cost", "metric.tokens")}
    assert [row[at["job_id"]] for row in rows] == ["a", "b", "c", "d"]
    assert [(row[at["metric.tokens"]], row[at["metric.cost"]]) for row in rows] == [
        ("", ""),
        ("3", ""),
        ("", "0.5"),
        ("", ""),
    ]
    assert [row[at["status"]] for row in rows] == ["succeeded", "succeeded", "failed", "succeeded"]
    events = [json.loads(line) for line in (folder.path / "journal.jsonl").read_text().splitlines()]
    finished = [event for event in events if event["event"] == "finished"]
    assert [event["job_id"] for event in finished] == ["a", "b", "c", "d"]
    assert finished[1]["time"] == finished[2]["time"] == finished[3]["time"]  # journaled at once
    assert tally.seen == ["a", "b", "c", "d"]
    assert folder.counts == {"succeeded": 3, "failed": 1}


def test_every_job_outcome_is_written_as_its_own_past_the_cached_outcomes(tmp_path: Path) -> None:
    # Cells, journal scores and aggregates are made once per distinct outcome (scores and notes) and
    # kept up to OUTCOMES_CACHED of them; outcomes that recur after the cache starts again, and outcomes
    # seen once each, must still be written as they are.
    scorers = [build({"name": "exact", "equals": "x"}), build({"name": "loud", "contains": "X"})]
    board = ScoreBoard(scorers, models=["caption"], repeat=1)
    folder = RunFolder.create(tmp_path, "w", ResultColumns(scores=("exact", "loud")))
    folder.tally = board
    folder.open("name: w\n", {"caption": "acme/caption"}, "hash")
    count = OUTCOMES_CACHED + 300
    results = [
        JobResult(
            job_id=f"j{i}",
            model="caption",
            row_id=str(i),
            repeat=0,
            status="succeeded",
            scores=(("exact", float(i % 2), ""), ("loud", None, f"note {i % (count - 100)}")),
        )
        for i in range(count)
    ]
    for start in range(0, count, 7):
        folder.record_all(results[start : start + 7])
    folder.close()

    with open(folder.path / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["score.exact"], r["score.loud"], r["note.loud"]) for r in rows] == [
        (str(i % 2), "", f"note {i % (count - 100)}") for i in range(count)
    ]
    lines = (folder.path / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    journaled = [json.loads(line)["result"] for line in lines if '"finished"' in line]
    assert [JobResult.from_journal(data).scores for data in journaled] == [r.scores for r in results]
    exact, loud = board.aggregates()["caption"].values()
    assert (exact.mean, exact.scored, exact.n) == (sum(i % 2 for i in range(count)) / count, count, count)
    assert (loud.mean, loud.scored, loud.n) == (0.0, 0, count)
