"""A rate limiter shared by every thread, so creates keep a steady pace instead of bursting."""

from __future__ import annotations

import threading

from ..clock import Clock


class TokenBucket:
    """Allows `rate_per_min` acquisitions a minute, bursting at most one second's worth.

    Each caller reserves its own slot under the lock and then sleeps once until it (the generic cell
    rate algorithm), so hundreds of waiting threads neither spin nor wake for every token, and they
    are served first come, first served.
    """

    def __init__(self, rate_per_min: float, clock: Clock) -> None:
        self.rate_per_s = rate_per_min / 60.0
        self.capacity = max(1.0, self.rate_per_s)
        self._interval = 1.0 / self.rate_per_s
        self._tolerance = (self.capacity - 1.0) * self._interval  # how early a slot may be used
        self._clock = clock
        self._lock = threading.Lock()
        now = clock.monotonic()
        # Start as if the bucket were empty: a run's first second must not burst either.
        self._next_slot = now + self._tolerance
        self._paused_until = now

    @classmethod
    def at_most(cls, per_minute: float, clock: Clock) -> TokenBucket:
        """A bucket whose requests stay within `per_minute` in any 60-second window at the server.

        Such a window holds the burst (a second's worth, or one slot), 60 s of refill, and requests
        whose slot came just before the window but that left late (a busy thread, the GIL): a second's
        worth is kept for those. So the pace is 60/62 of `per_minute`.
        """
        if per_minute >= 62:
            return cls(per_minute * 60 / 62, clock)
        return cls(max((per_minute - 1) * 60 / 61, per_minute / 2), clock)

    def acquire(self, deadline: float | None = None, stop: threading.Event | None = None) -> bool:
        """Wait for this caller's slot; False if `deadline` (clock time) would pass first or `stop` is set."""
        with self._lock:
            now = self._clock.monotonic()
            slot = max(self._next_slot, now)
            go = max(now, slot - self._tolerance, self._paused_until)
            if deadline is not None and go > deadline:
                return False
            self._next_slot = max(slot, go) + self._interval
        if go > now:
            if stop is not None:
                return not self._clock.wait(stop, go - now)
            self._clock.sleep(go - now)
        return stop is None or not stop.is_set()

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (the server said its limit resets then), then pace again."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)
            self._next_slot = max(self._next_slot, self._paused_until + self._tolerance)
