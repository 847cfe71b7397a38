"""Clocks for tests: time that only moves when the code under test sleeps."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from replicate_batch.clock import Clock


@dataclass(frozen=True)
class FakeClock(Clock):
    """A clock whose `sleep` advances time instantly and records every wait."""

    sleeps: list[float] = field(default_factory=list)
    _now: list[float] = field(default_factory=lambda: [0.0])

    def monotonic(self) -> float:
        return self._now[0]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now[0] += max(0.0, seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.sleep(seconds)
        return event.is_set()
