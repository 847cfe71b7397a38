"""The run folder's writer: jobs that finished together are recorded together, each as alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from replicate_batch.runfolder.results import JobResult, ResultColumns
from replicate_batch.runfolder.writer import RunFolder


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
