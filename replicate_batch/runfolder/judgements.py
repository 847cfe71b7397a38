"""A judge prediction's record: how it ended and what the judge replied, as the journal keeps it.

A judge prediction is journaled like a job's (`creating`, `created`, `finished`), with a `judge`
marker (the scorer's name) and its `key` (`judge_cache_key`) instead of a `job_id`; `for_job` names
the job it was made for. The `finished` event's `result` is a `JudgeRecord`. A succeeded one is the
reply every later job, `--resume` and `rescore` reuse for the same key; a failed one is never reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .results import FinalStatus

_STATUSES = ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class JudgeRecord:
    """How one judge prediction ended; `reply` is its output (streamed text joined)."""

    status: FinalStatus
    reply: Any = None
    error: str = ""
    attempts: int = 0
    prediction_id: str = ""
    version: str = ""
    created_at: str = ""
    completed_at: str = ""
    predict_time: float | None = None
    wall_time: float | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the judge replied: only then is the record reused."""
        return self.status == "succeeded"

    def to_journal(self) -> dict[str, Any]:
        """The record as a JSON-able dict, for the `finished` event."""
        return asdict(self)

    @classmethod
    def from_journal(cls, data: Any) -> JudgeRecord | None:
        """The record a `finished` event holds; None when it is not one (never trusted blindly)."""
        if not isinstance(data, Mapping) or data.get("status") not in _STATUSES:
            return None
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        try:
            return cls(**values)
        except TypeError:
            return None


def reply_of(output: Any, streamed: bool) -> Any:
    """What a judge replied: streamed text chunks joined, any other output as it came."""
    if streamed and isinstance(output, list):
        return "".join(str(chunk) for chunk in output if chunk is not None)
    return output
