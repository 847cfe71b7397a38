"""Reading `journal.jsonl` back: what each job reached before the run stopped, for `--resume`.

The journal is append-only, one JSON object per line, flushed per line:

- `run`: a run (or a resume of it) began; carries `spec_hash`.
- `creating`: a create is about to be sent (`attempt`; for hosted models also the exact `input`
  sent, so a create whose answer was lost can be looked up).
- `created`: the server gave the prediction id.
- `download_failed`: the prediction (`prediction_id`) succeeded but its output files could not all be
  downloaded; the job's result that follows is `failed` with that id, and `--resume` fetches the
  prediction again by id rather than creating it.
- `finished`: the job's result (the `results.csv` row, as JSON).

A judge's prediction has the same events with a `judge` marker and its `key` instead of a `job_id`
(judgements.py); they are read into `JournalState.judges`.

A `kill -9` can cut the last line short; a line that does not parse is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .judgements import JudgeRecord
from .results import JobResult

JOURNAL_NAME = "journal.jsonl"


@dataclass(frozen=True)
class Pickup:
    """A job that was created (or being created) when the run stopped: continue it, don't recreate."""

    prediction_id: str | None  # known: poll it
    creating_time: str  # when the last create was about to be sent
    sent_input: Mapping[str, Any] | None  # what that create sent, to look it up if the id is unknown
    # It succeeded but its files were not all downloaded: download them, or create it again only if
    # the server no longer has them.
    refetch: bool = False


@dataclass
class JudgeJournal:
    """Per judge prediction key, the reply to reuse and any prediction in flight, as the journal tells it."""

    replies: dict[str, JudgeRecord] = field(default_factory=dict)  # succeeded ones only
    pickups: dict[str, Pickup] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)  # creates sent since the key's last record

    def add(self, event: Mapping[str, Any]) -> None:
        """Take one journal event that carries a `judge` marker."""
        kind, key = event.get("event"), str(event.get("key", ""))
        if not key:
            return
        if kind == "creating":
            self.tries[key] = self.tries.get(key, 0) + 1
            self.pickups[key] = Pickup(None, str(event.get("time", "")), event.get("input"))
        elif kind == "throttled" and self.tries.get(key):
            self.tries[key] -= 1
        elif kind == "created" and key in self.pickups:
            previous = self.pickups[key]
            self.pickups[key] = Pickup(
                str(event["prediction_id"]), previous.creating_time, previous.sent_input
            )
        elif kind == "finished":
            record = JudgeRecord.from_journal(event.get("result"))
            if record is None:
                return
            if record.succeeded:
                self.replies[key] = record
            self.tries.pop(key, None)
            pickup = self.pickups.pop(key, None)
            if pickup is not None and pickup.prediction_id is None and not record.prediction_id:
                self.pickups[key] = pickup  # the last create's fate is unknown: look it up first


@dataclass
class JournalState:
    """Per job, the latest result and any prediction in flight, as the journal tells it."""

    spec_hashes: list[str] = field(default_factory=list)
    results: dict[str, JobResult] = field(default_factory=dict)
    pickups: dict[str, Pickup] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)  # creates sent since the job's last result
    judges: JudgeJournal = field(default_factory=JudgeJournal)

    @property
    def spec_hash(self) -> str | None:
        """The spec hash the run was last started or resumed with."""
        return self.spec_hashes[-1] if self.spec_hashes else None

    def succeeded_result(self, job_id: str) -> JobResult | None:
        """The job's result if it succeeded: such a job is not run again."""
        result = self.results.get(job_id)
        return result if result is not None and result.status == "succeeded" else None


def journal_events(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every readable event of a run folder's journal, in order (none if there is no journal)."""
    path = run_dir / JOURNAL_NAME
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if isinstance(event, dict):
                yield event


def read_journal(run_dir: Path) -> JournalState:
    """Replay a run folder's journal."""
    state = JournalState()
    for event in journal_events(run_dir):
        if "judge" in event:
            state.judges.add(event)
            continue
        kind, job_id = event.get("event"), str(event.get("job_id", ""))
        if kind == "run" and event.get("spec_hash"):
            state.spec_hashes.append(str(event["spec_hash"]))
        elif kind == "creating":
            state.tries[job_id] = state.tries.get(job_id, 0) + 1
            state.pickups[job_id] = Pickup(None, str(event.get("time", "")), event.get("input"))
        elif kind == "throttled" and state.tries.get(job_id):
            state.tries[job_id] -= 1  # that create was refused with 429: a wait, not a try
        elif kind == "created" and job_id in state.pickups:
            previous = state.pickups[job_id]
            state.pickups[job_id] = Pickup(
                str(event["prediction_id"]), previous.creating_time, previous.sent_input
            )
        elif kind == "download_failed" and job_id in state.pickups:
            previous = state.pickups[job_id]
            if previous.prediction_id == event.get("prediction_id"):
                state.pickups[job_id] = replace(previous, refetch=True)
        elif kind == "finished" and isinstance(event.get("result"), dict):
            try:
                result = JobResult.from_journal(event["result"])
            except TypeError:
                continue
            state.results[job_id] = result
            state.tries.pop(job_id, None)
            pickup = state.pickups.pop(job_id, None)
            if pickup is not None and pickup.prediction_id is None and not result.prediction_id:
                # The last create's fate is unknown (its answer was lost): look it up before creating.
                state.pickups[job_id] = pickup
            elif (
                pickup is not None
                and pickup.refetch
                and result.status == "failed"
                and result.prediction_id == pickup.prediction_id
            ):
                # Its files are still to be downloaded: fetch the prediction by id, don't create it.
                state.pickups[job_id] = pickup
                state.tries[job_id] = result.attempts
    return state


def read_judge_journal(run_dir: Path) -> JudgeJournal:
    """Only the judge predictions of a run folder's journal (what `rescore` reuses)."""
    judges = JudgeJournal()
    for event in journal_events(run_dir):
        if "judge" in event:
            judges.add(event)
    return judges
