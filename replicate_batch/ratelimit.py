"""A token bucket shared by every thread, so creates keep a steady pace instead of bursting."""

from __future__ import annotations

import threading

from .clock import Clock

EPSILON = 1e-9  # float refills can fall short of a whole token by a rounding error


class TokenBucket:
    """Allows `rate_per_min` acquisitions a minute, bursting at most one second's worth."""

    def __init__(self, rate_per_min: float, clock: Clock) -> None:
        self.rate_per_s = rate_per_min / 60.0
        self.capacity = max(1.0, self.rate_per_s)
        self._clock = clock
        self._lock = threading.Lock()
        # Start with one token, not a full bucket: a run's first second must not burst either.
        self._tokens = 1.0
        self._updated = clock.monotonic()
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def acquire(self, deadline: float | None = None) -> bool:
        """Block until a token is free; False if `deadline` (clock time) would pass first."""
        while True:
            with self._lock:
                now = self._clock.monotonic()
                self._refill(now)
                if now >= self._paused_until and self._tokens >= 1.0 - EPSILON:
                    self._tokens -= 1.0
                    return True
                wait_s = max(self._paused_until - now, (1.0 - self._tokens) / self.rate_per_s)
            if deadline is not None and now + wait_s > deadline:
                return False
            self._clock.sleep(wait_s)

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (the server said its limit resets then)."""
        with self._lock:
            now = self._clock.monotonic()
            self._paused_until = max(self._paused_until, now + seconds)
            self._refill(now)
            self._tokens = min(self._tokens, 0.0)
