"""A limit of the HTTP client: httpcore's pool bookkeeping grows with connections x idle connections.

    .venv/bin/python benchmarks/pool_scan.py

`httpcore.ConnectionPool._assign_requests_to_connections` runs under the pool's lock on every
request start and every response close. For each idle connection it evaluates
`len([c.is_idle() for c in self._connections])`, a list over all connections, so one call costs
O(connections x idle). `replicate_batch.backends.replicate_api` therefore keeps at most
`CREATE_KEEPALIVE` (100) idle connections in the create pool and polls through a 16-connection pool
of its own; before that,
at concurrency 500 every request paid the full scan twice. This measures one call with fake
connections (no network).
"""

from __future__ import annotations

import time

import httpcore
from harness import load_line, machine_line, table
from httpcore._sync.connection_pool import ConnectionPool

CALLS = 50


class FakeConnection:
    """Just enough of a connection for the pool's bookkeeping."""

    def __init__(self, idle: bool) -> None:
        self.idle = idle

    def is_closed(self) -> bool:
        return False

    def has_expired(self) -> bool:
        return False

    def is_idle(self) -> bool:
        return self.idle

    def can_handle_request(self, origin: object) -> bool:
        return True

    def is_available(self) -> bool:
        return self.idle


def pool_update_ms(connections: int, idle: int, keepalive: int) -> float:
    """Milliseconds of one `_assign_requests_to_connections` call."""
    pool = ConnectionPool(max_connections=connections + 4, max_keepalive_connections=keepalive)
    fakes = [FakeConnection(i < idle) for i in range(connections)]
    started = time.perf_counter()
    for _ in range(CALLS):
        pool._connections = list(fakes)  # type: ignore[assignment]  # idle extras are dropped per call
        pool._assign_requests_to_connections()
    return 1000 * (time.perf_counter() - started) / CALLS


def main() -> None:
    print(machine_line())
    print(f"httpcore {httpcore.__version__}: one pool update (runs twice per request, under the pool lock)")
    cases = [
        (68, 68, 68, "concurrency 64, all idle (creates: shipped)"),
        (68, 4, 68, "concurrency 64, 4 idle"),
        (504, 504, 504, "concurrency 500, all idle (creates, before the cap)"),
        (504, 480, 504, "concurrency 500, 480 idle (creates, before the cap)"),
        (504, 100, 100, "concurrency 500, keep-alive capped at 100 (creates: shipped)"),
        (504, 16, 16, "concurrency 500, keep-alive capped at 16"),
        (16, 16, 16, "the 16-connection poll pool (polls: shipped)"),
    ]
    rows = [[label, c, i, k, pool_update_ms(c, i, k)] for c, i, k, label in cases]
    print(table(["case", "connections", "idle", "max_keepalive", "ms_per_update"], rows))
    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
