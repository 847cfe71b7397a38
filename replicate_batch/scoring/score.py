"""A job's score under one scorer: a number, or none (unscored), with a note saying why or what."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Score:
    """One job's score: `value` is None when the job is unscored; `note` goes to `note.<name>`."""

    value: float | None
    note: str = ""

    @property
    def is_scored(self) -> bool:
        """Whether the job got a number."""
        return self.value is not None


def unscored(note: str) -> Score:
    """A Score without a number, with the reason as its note."""
    return Score(None, note)


# The two scores of a pass/fail check, made once: `ONE if ok else ZERO` where a check runs for every job.
ONE = Score(1.0)
ZERO = Score(0.0)


def passed(ok: bool) -> Score:
    """1 or 0, as deterministic kinds score."""
    return ONE if ok else ZERO
