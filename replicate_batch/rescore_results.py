"""`rescore`'s pass over a run's results: results.csv's rows with new score cells, each job's result read
from the journal.

Each job's result (its output, whether that was JSON, what was sent, its files) comes from the last
`finished` line of `journal.jsonl`, found through an index of line offsets, so that
only one result is held at a time; a job the journal does not have is scored from its results.csv row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from .csv_cells import csv_reader
from .reports.stats import StatsTally, seconds
from .runfolder.journal import JOURNAL_NAME
from .runfolder.results import COLUMNS, RESULTS_NAME, FinalStatus, JobResult, ResultColumns
from .scoring.run_scoring import RunScoring

# How the run folder's writer begins a `finished` line (json.dumps of event, time, job_id, result).
_FINISHED = re.compile(
    rb'\{"event": "finished", "time": "[^"\\]*", "job_id": "(?P<job_id>[0-9a-f]+)", "result": \{'
)
_AT = {name: index for index, name in enumerate(COLUMNS)}


class Rescoring:
    """Streams results.csv's rows with new score cells, each job's result read from the journal."""

    def __init__(
        self, run_dir: Path, scoring: RunScoring, rows: Mapping[str, Mapping[str, Any]], stats: StatsTally
    ) -> None:
        self.run_dir = run_dir
        self.scoring = scoring
        self.held = rows
        self.stats = stats
        self.offsets = _finished_offsets(run_dir / JOURNAL_NAME)
        self.cut_short = 0  # rows of results.csv a crash cut short: dropped
        self.not_journaled = 0  # jobs scored from their results.csv row alone
        self.rowless = 0  # jobs whose row is no longer in the rows

    def rows(self, old: ResultColumns, new: ResultColumns) -> Iterator[list[Any]]:
        """results.csv's rows in order, the score and note cells those of the new scorers."""
        rest = old.score_span.stop
        for cells, result in self._read(old, count=True):
            scores = self.scoring.jobs.scores(result, self._row(result, count=True))
            self.scoring.board.add_scores(result.model, result.row_id, result.metadata, scores)
            self.stats.count(
                cells[_AT["model"]],
                cells[_AT["status"]],
                seconds(cells[_AT["wall_time"]]),
                seconds(cells[_AT["predict_time"]]),
            )
            yield [*cells[: len(COLUMNS)], *new.score_cells(scores), *cells[rest:]]

    def results(self, old: ResultColumns) -> Iterator[tuple[JobResult, Mapping[str, Any]]]:
        """Each job's result (as `rows` reads it) with its row's fields, for judging ahead."""
        for _, result in self._read(old, count=False):
            yield result, self._row(result, count=False)

    def _read(self, old: ResultColumns, *, count: bool) -> Iterator[tuple[list[str], JobResult]]:
        """results.csv's whole rows in order, each with its job's result: the journal's, else the row's.
        `count`: tally what the warnings report (once, on the pass that writes)."""
        width = len(old.header())
        with (
            open(self.run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle,
            open(self.run_dir / JOURNAL_NAME, "rb") as journal,
        ):
            reader = csv_reader(handle)
            next(reader, None)
            for cells in reader:
                if len(cells) != width:
                    self.cut_short += count
                    continue
                yield cells, self._result(cells, journal, count)

    def _result(self, cells: Sequence[str], journal: BinaryIO, count: bool) -> JobResult:
        offset = self.offsets.get(cells[_AT["job_id"]])
        if offset is not None:
            journal.seek(offset)
            try:
                data = json.loads(journal.readline())["result"]
                data.pop("scores", None)  # the scores it had are not read: they are given anew
                return JobResult.from_journal(data)
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        self.not_journaled += count
        return _from_cells(cells)

    def _row(self, result: JobResult, count: bool) -> Mapping[str, Any]:
        """The fields of the job's row as scorers see them; its id and metadata when the row is gone."""
        row = self.held.get(result.row_id)
        if row is None:
            self.rowless += count
            row = {"id": result.row_id, **result.metadata}
        return row

    def warnings(self) -> list[str]:
        """What the rescore could not do as a run would have."""
        found = []
        if self.cut_short:
            found.append(f"{self.cut_short} rows of {RESULTS_NAME} were cut short by a crash: dropped")
        if self.not_journaled:
            found.append(
                f"{self.not_journaled} results are not in {JOURNAL_NAME}: scored from their {RESULTS_NAME} "
                "row (output as text; inputs as the cells show them)"
            )
        if self.rowless:
            found.append(
                f"{self.rowless} results' rows are no longer among the spec's rows: scored with their id "
                "and metadata only"
            )
        return found


def _finished_offsets(path: Path) -> dict[str, int]:
    """Where each job's last `finished` line starts in the journal (a later one replaces an earlier).

    The writer's lines begin `{"event": "finished", "time": ..., "job_id": ...`: the job id is read
    there, without parsing the whole result; any other line naming `finished` is parsed.
    """
    offsets: dict[str, int] = {}
    offset = 0
    with open(path, "rb") as handle:
        for line in handle:
            if b'"finished"' in line:
                job_id = _job_id(line)
                if job_id is not None:
                    offsets[job_id] = offset
            offset += len(line)
    return offsets


def _job_id(line: bytes) -> str | None:
    """The job id of a complete `finished` line, else None (a line cut short by a crash, say)."""
    if not line.endswith(b"}\n") and not line.endswith(b"}"):
        return None
    found = _FINISHED.match(line)
    if found is not None:
        return found["job_id"].decode()
    try:
        event = json.loads(line)
    except ValueError:
        return None
    is_job = isinstance(event, dict) and "judge" not in event  # a judge's result is no job's
    if is_job and event.get("event") == "finished" and "result" in event:
        return str(event.get("job_id", ""))
    return None


def _from_cells(cells: Sequence[str]) -> JobResult:
    """A result from its results.csv row alone, for a job the journal does not have."""
    try:
        files = tuple(str(f) for f in json.loads(cells[_AT["files"]] or "[]"))
    except (ValueError, TypeError):
        files = ()
    status = cast(FinalStatus, cells[_AT["status"]])
    return JobResult(
        job_id=cells[_AT["job_id"]],
        model=cells[_AT["model"]],
        row_id=cells[_AT["row_id"]],
        repeat=int(cells[_AT["repeat"]] or 0) if cells[_AT["repeat"]].isdigit() else 0,
        status=status if status in ("succeeded", "failed", "canceled") else "failed",
        output=cells[_AT["output"]],
        files=files,
    )
