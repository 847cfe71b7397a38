"""What-ifs: package changes proposed in benchmarks/README.md, swapped in to measure them.

Nothing here is used by the package. `ReservingBucket` has the contract of
`replicate_batch.ratelimit.TokenBucket`: the shipped bucket lets every waiting thread sleep for the
current token deficit and then try again, so with hundreds of threads waiting for polls they all
wake each time one token is due (a thundering herd). This variant reserves the next free slot under
the lock (the generic cell rate algorithm: a theoretical arrival time), so each caller sleeps
exactly once, in order. `install_split_pools` changes `replicate_batch.hosted`'s connection pools.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from replicate_batch.clock import Clock


class ReservingBucket:
    """`rate_per_min` acquisitions a minute, bursting at most one second's worth; first come, first served."""

    def __init__(self, rate_per_min: float, clock: Clock) -> None:
        self.interval_s = 60.0 / rate_per_min
        capacity = max(1.0, rate_per_min / 60.0)
        self.burst_s = (capacity - 1.0) * self.interval_s  # how far ahead of the pace a caller may be
        self._clock = clock
        self._lock = threading.Lock()
        # Start with one token, not a full bucket, like TokenBucket.
        self._arrival = clock.monotonic() + self.burst_s
        self._paused_until = 0.0

    def acquire(self, deadline: float | None = None) -> bool:
        """Reserve the next slot and sleep until it; False (nothing reserved) if it is past `deadline`."""
        while True:
            with self._lock:
                now = self._clock.monotonic()
                slot = max(now, self._arrival - self.burst_s, self._paused_until)
                if deadline is not None and slot > deadline:
                    return False
                self._arrival = max(self._arrival, slot) + self.interval_s
            self._clock.sleep(slot - now)
            with self._lock:
                if self._clock.monotonic() >= self._paused_until:  # a pause that began while asleep
                    return True

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds`; slots after the pause keep the pace."""
        with self._lock:
            now = self._clock.monotonic()
            self._paused_until = max(self._paused_until, now + seconds)
            self._arrival = max(self._arrival, self._paused_until + self.burst_s)


def install_split_pools(*, create_keepalive: int = 16, poll_connections: int = 8) -> None:
    """What-if for hosted.py: creates keep few idle connections, polls get their own small pool.

    httpcore 1.0's `ConnectionPool._assign_requests_to_connections` runs, under the pool lock, on
    every request start and every response close, and for each idle connection it builds a list of
    all connections: O(connections x idle) per request. The shipped pool keeps `concurrency + 4`
    connections alive, so at concurrency 500 every poll pays that scan twice.
    """
    import httpx
    from replicate.client import Client

    from replicate_batch import hosted

    def make_client(
        token: str, *, max_connections: int, cancel_after_s: float | None, keepalive: int | None = None
    ) -> tuple[Client, httpx.HTTPTransport]:
        headers = (
            {"Cancel-After": f"{math.ceil(cancel_after_s) + hosted.CANCEL_AFTER_GRACE_S}s"}
            if cancel_after_s
            else {}
        )
        limits = httpx.Limits(
            max_connections=max_connections + 4,
            max_keepalive_connections=min(max_connections + 4, keepalive or create_keepalive),
        )
        transport = httpx.HTTPTransport(limits=limits)
        client = Client(
            api_token=token,
            headers=headers,
            transport=transport,
            event_hooks={"response": [hosted._raise_throttled]},
        )
        return client, transport

    original_init = hosted.ReplicateBackend.__init__

    def init(self: Any, ref: str, token: str, **kwargs: Any) -> None:
        original_init(self, ref, token, **kwargs)
        self._poll_client, self._poll_transport = make_client(
            token,
            max_connections=poll_connections,
            cancel_after_s=None,
            keepalive=poll_connections + 4,
        )

    def get(self: Any, prediction_id: str) -> Any:
        try:
            return hosted._prediction(self._poll_client.predictions.get(prediction_id))
        except Exception as error:
            raise hosted._translate(error, f"poll {prediction_id}") from None

    original_stop = hosted.ReplicateBackend.stop

    def stop(self: Any) -> None:
        original_stop(self)
        self._poll_transport.close()

    hosted.make_client = make_client  # type: ignore[assignment]
    hosted.ReplicateBackend.__init__ = init  # type: ignore[method-assign]
    hosted.ReplicateBackend.get = get  # type: ignore[method-assign]
    hosted.ReplicateBackend.stop = stop  # type: ignore[method-assign]


def install_downloads_without_fsync() -> None:
    """What-if for download.py: write each output file without the per-file `os.fsync`.

    The journal and results.csv are flushed, not fsynced, so a power loss can lose the journal line
    of a file that was fsynced anyway; against a crash of the process (kill -9, Ctrl-C) the page
    cache is enough. The fsync is what separates the runner from plain streaming (see README).
    """
    import os
    from collections.abc import Iterable
    from pathlib import Path

    from replicate_batch import download

    def write_atomically(dest: Path, chunks: Iterable[bytes]) -> int:
        part = dest.with_name(dest.name + ".part")
        size = 0
        with open(part, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        os.replace(part, dest)
        return size

    download._write_atomically = write_atomically
