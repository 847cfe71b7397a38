"""What-ifs: package changes proposed in benchmarks/README.md, swapped in to measure them.

Nothing here is used by the package. `install_split_pools` changes `replicate_batch.hosted`'s
connection pools (finding 1). The reserving bucket and the downloads without a per-file fsync that
used to be measured here have since become the package's own code.
"""

from __future__ import annotations

import math
from typing import Any


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
