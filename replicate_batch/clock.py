"""Time as a parameter: the runner reads the clock and sleeps only through a `Clock`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone


def utc_now_iso() -> str:
    """The current UTC time as ISO-8601 with a `Z` suffix and millisecond precision."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Clock:
    """Monotonic time and sleeping, scaled by `time_scale` (tests run 100x faster with 0.01)."""

    time_scale: float = 1.0
    _origin: float = field(default_factory=time.monotonic)

    def monotonic(self) -> float:
        """Seconds since the clock was made, in the clock's own (scaled) time."""
        return (time.monotonic() - self._origin) / self.time_scale

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of the clock's time."""
        if seconds > 0:
            time.sleep(seconds * self.time_scale)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Sleep up to `seconds` of clock time or until `event` is set; True if it was set."""
        return event.wait(max(0.0, seconds) * self.time_scale)

    def seconds_since(self, iso: str) -> float:
        """Clock seconds since a wall-clock time written by `utc_now_iso` (e.g. by an earlier run)."""
        elapsed_s = (datetime.now(timezone.utc) - parse_iso(iso)).total_seconds()
        return elapsed_s / self.time_scale


SYSTEM_CLOCK = Clock()


def parse_iso(value: str | None) -> datetime:
    """Parse an API timestamp (2 to 9 fractional digits, `Z` or offset); the epoch for None."""
    if not value:
        return datetime.fromtimestamp(0, timezone.utc)
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def to_utc_iso(value: str | None) -> str:
    """An API timestamp normalised to `utc_now_iso`'s format; empty for None or garbage."""
    if not value:
        return ""
    try:
        parsed = parse_iso(value)
    except ValueError:
        return ""
    return parsed.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
