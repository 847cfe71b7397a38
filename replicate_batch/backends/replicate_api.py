"""Replicate's hosted API through the official `replicate` client: the only module that imports it.

Over 300 lines because every call's errors are translated here, in one place, into the BackendError
family (429s, 5xx, lost answers, unreadable answers); the two connection pools could move out.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import replicate
import replicate.exceptions
from pydantic.v1 import ValidationError as ClientParseError
from replicate.client import Client
from replicate.version import Versions

from ..clock import parse_iso
from ..errors import BackendSetupError, RequestFailed, Throttled, TokenRejected, Unreachable, Unreadable
from ..redaction import TOKEN_VARIABLE, remember_secret
from ..spec.model import REF_PATTERN
from .base import Backend, ModelInfo, OnCreated, Prediction, reported_metrics
from .network import UNTRUSTED_HINT, proxy_for, tls_context

DEFAULT_BASE_URL = "https://api.replicate.com"  # the client's, when REPLICATE_BASE_URL is not set
CANCEL_AFTER_GRACE_S = 10
_RESETS_IN = re.compile(r"resets in ~?(\d+(?:\.\d+)?)\s*s")
_TRANSPORT_ERRORS = (httpx.TransportError,)


# httpcore's pool does work in proportion to connections x idle connections on every request start
# and close (0.38 ms at 68 idle connections, 17 ms at 504: benchmarks/pool_scan.py). So polls, cancels
# and lookups share a small pool of their own, and the create pool keeps one idle connection per
# running create (waves of creates reuse them) only up to CREATE_KEEPALIVE: above that, a wave of
# 500 creates finishing together would cost seconds of CPU in the pool alone.
POLL_CONNECTIONS = 16
CREATE_KEEPALIVE = 100
# Requests queue for a connection of the small pool; a budgeted poll may wait its turn that long.
POLL_POOL_WAIT_S = 60.0
# The client sends a create with `Prefer: wait=W` under httpx.Timeout(5.0, read=W + 0.5): up to 5 s
# for a pooled connection, 5 s to connect and 5 s to send, then W + 0.5 s for the answer.
CREATE_SEND_S = 15.0
CREATE_ANSWER_GRACE_S = 0.5


class _ThrottledTransport(httpx.HTTPTransport):
    """Raises `Throttled` on a 429 below the client's own retry layer.

    The client retries a GET refused with 429 up to 9 times inside its transport, sleeping in real
    time for as long as `Retry-After` says (uncapped), in each thread on its own. Raised here, the
    refusal reaches the runner, which pauses every poll and waits on its own clock.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code == 429:
            try:
                response.read()
            finally:
                response.close()
            _raise_throttled(response)
        return response


def make_client(
    token: str,
    *,
    max_connections: int,
    cancel_after_s: float | None = None,
    keepalive: int | None = None,
    pool_wait_s: float | None = None,
    raise_429_early: bool = False,
) -> tuple[Client, httpx.HTTPTransport]:
    """A client whose 429 answers carry `retry_after`, keeping up to `keepalive` connections idle."""
    # The runner cancels at `timeout` itself; the server's own stop is the backstop if the runner dies.
    headers = (
        {"Cancel-After": f"{math.ceil(cancel_after_s) + CANCEL_AFTER_GRACE_S}s"} if cancel_after_s else {}
    )
    idle = max_connections if keepalive is None else min(keepalive, max_connections)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=idle)
    remember_secret(token)
    # A transport of our own makes httpx skip the environment's proxies: they are passed here, and
    # the certificates with them, from the one place downloads take theirs (network.py).
    base_url = os.environ.get("REPLICATE_BASE_URL") or DEFAULT_BASE_URL
    transport = (_ThrottledTransport if raise_429_early else httpx.HTTPTransport)(
        limits=limits, verify=tls_context(), proxy=proxy_for(base_url)
    )
    timeout = None
    if pool_wait_s is not None:  # otherwise the client's own default (5 s; read 30 s; pool 10 s)
        timeout = httpx.Timeout(5.0, read=30.0, write=30.0, connect=5.0, pool=pool_wait_s)
    client = Client(
        api_token=token,
        headers=headers,
        transport=transport,
        timeout=timeout,
        event_hooks={"response": [_raise_throttled]},
    )
    return client, transport


def _raise_throttled(response: httpx.Response) -> None:
    """Turn a 429 into `Throttled` with the wait the server asked for (body, header or text)."""
    if response.status_code != 429:
        return
    response.read()
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    detail = str(body.get("detail") or body.get("title") or "rate limited")
    raise Throttled(
        f"rate limited by Replicate: {detail}", retry_after_s=_retry_after_s(response, body, detail)
    )


def _retry_after_s(response: httpx.Response, body: Mapping[str, Any], detail: str) -> float | None:
    for value in (body.get("retry_after"), response.headers.get("Retry-After")):
        try:
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    match = _RESETS_IN.search(detail)
    return float(match[1]) if match else None


def _message(error: replicate.exceptions.ReplicateError) -> str:
    parts = [p for p in (error.title, error.detail) if p]
    return f"Replicate API error {error.status}: " + (": ".join(parts) if parts else "(no details)")


def translate_error(error: Exception, what: str) -> Exception:
    """Map client exceptions onto the backend's typed errors."""
    if isinstance(error, replicate.exceptions.ReplicateError):
        status = error.status or 0
        return RequestFailed(_message(error), status=status, retryable=status >= 500 or status == 408)
    if isinstance(error, _TRANSPORT_ERRORS):
        hint = f"; {UNTRUSTED_HINT}" if "CERTIFICATE_VERIFY_FAILED" in str(error) else ""
        return Unreachable(f"{what}: no answer from Replicate ({type(error).__name__}: {error}){hint}")
    if isinstance(error, (ClientParseError, ValueError)):
        given = re.search(r"given=([^;)]+)", str(error))
        detail = f"status {given[1]!r}" if given else str(error).splitlines()[0]
        return Unreadable(f"{what}: Replicate answered something the client cannot read ({detail})")
    return error


def to_prediction(p: Any) -> Prediction:
    """The client's prediction as a backend `Prediction`, with the numbers its `metrics` report."""
    metrics = p.metrics if isinstance(p.metrics, dict) else {}
    return Prediction(
        id=p.id,
        status=p.status,
        output=p.output,
        error=None if p.error is None else str(p.error),
        logs=p.logs or "",
        predict_time=metrics.get("predict_time"),
        version=p.version,
        created_at=p.created_at,
        completed_at=p.completed_at,
        input=p.input,
        metrics=reported_metrics(metrics),
    )


def fetch_version(client: Client, owner: str, name: str, version_id: str) -> Any:
    """`GET /v1/models/{owner}/{name}/versions/{id}`: the version with its OpenAPI schema."""
    return Versions(client, model=(owner, name)).get(version_id)


def refuses_version(error: replicate.exceptions.ReplicateError) -> bool:
    """A 422 refusing the version itself (not the input): what official models answer to a version create."""
    text = f"{error.title or ''} {error.detail or ''}".lower()
    return error.status == 422 and ("invalid version" in text or "version does not exist" in text)


class ReplicateBackend(Backend):
    """A model on Replicate's hosted API; the version is pinned once at start.

    Creates and uploads go through a pool sized for `max_connections` running creates; polls,
    cancels and lookups through a small pool of their own (`POLL_CONNECTIONS`).
    """

    can_find_created = True

    def __init__(
        self,
        ref: str,
        token: str,
        *,
        max_connections: int = 16,
        cancel_after_s: float | None = None,
        sync_wait_s: int = 60,
    ) -> None:
        match = REF_PATTERN.match(ref)
        if not match:
            raise ValueError(f"not a model ref: {ref!r}")
        self.model_ref = ref
        self.owner, self.name, self.version = match["owner"], match["name"], match["version"]
        self.client, self._transport = make_client(
            token,
            max_connections=max_connections + 4,
            keepalive=CREATE_KEEPALIVE,
            cancel_after_s=cancel_after_s,
        )
        self.poll_client, self._poll_transport = make_client(
            token,
            max_connections=min(max_connections + 4, POLL_CONNECTIONS),
            pool_wait_s=POLL_POOL_WAIT_S,
            raise_429_early=True,
        )
        self.sync_wait_s = sync_wait_s
        self.create_timeout_s = CREATE_SEND_S + sync_wait_s + CREATE_ANSWER_GRACE_S
        # A version the ref names is the user's choice: never swapped for the model endpoint's.
        self.pinned = self.version is not None
        # Official models refuse version creates; then the model endpoint is used (see create).
        self._use_model_endpoint = False
        self._lock = threading.Lock()

    def start(self) -> ModelInfo:
        """Pin the version with one GET (the model, or the version the ref names)."""
        ref = f"{self.owner}/{self.name}"
        what = f"model {ref}" + (f" version {self.version}" if self.version else "")
        version: Any
        try:
            if self.version:
                version = fetch_version(self.client, self.owner, self.name, self.version)
            else:
                version = self.client.models.get(ref).latest_version
        except Exception as error:
            raise setup_error(translate_error(error, what), what) from None
        if version is None:
            raise BackendSetupError(
                f"{what} has no published version (its latest_version is null), so nothing can run it: "
                f"push one (`cog push r8.im/{ref}`), or check the owner/name on https://replicate.com/{ref}"
            )
        self.version = version.id
        endpoint = f"version {version.id[:12]} (POST /v1/predictions"
        if not self.pinned:
            endpoint += f"; if refused, as official models do: POST /v1/models/{ref}/predictions"
        endpoint += ")"
        return ModelInfo(version=version.id, openapi_schema=version.openapi_schema, endpoint=endpoint)

    def stop(self) -> None:
        """Close both pools' connections."""
        self._transport.close()
        self._poll_transport.close()

    def prepare_file(self, path: Path) -> str:
        """Upload a local file with `POST /v1/files`; the input gets its URL."""
        try:
            with open(path, "rb") as handle:
                uploaded = self.client.files.create(handle)
        except Exception as error:
            raise translate_error(error, f"uploading {path}") from None
        return str(uploaded.urls["get"])

    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        """Create with `Prefer: wait`, so a quick prediction costs one request and no polls."""
        wait_s = max(1, min(self.sync_wait_s, math.floor(time_left_s)))
        try:
            created = self._send(dict(model_input), wait_s)
        except Exception as error:
            raise translate_error(error, "create") from None
        on_created(created.id)
        return to_prediction(created)

    def _send(self, model_input: dict[str, Any], wait_s: int) -> Any:
        """The create request: on the version, or on the model endpoint once the version was refused."""
        if self.version and not self._use_model_endpoint:
            try:
                return self.client.predictions.create(version=self.version, input=model_input, wait=wait_s)
            except replicate.exceptions.ReplicateError as error:
                if not refuses_version(error):
                    raise
                if self.pinned:  # the user chose this version: say how to run the model instead
                    raise RequestFailed(
                        f"{_message(error)}; Replicate refuses creates by version for {self.owner}/"
                        f"{self.name} (official models run only on their model endpoint): give the ref "
                        f"without `:{self.version}` to run its current version",
                        status=422,
                        retryable=False,
                    ) from None
                with self._lock:  # a refusal creates nothing: send it again where the model runs
                    self._use_model_endpoint = True
        return self.client.models.predictions.create(
            model=(self.owner, self.name), input=model_input, wait=wait_s
        )

    def get(self, prediction_id: str) -> Prediction:
        """`GET /v1/predictions/{id}`."""
        try:
            return to_prediction(self.poll_client.predictions.get(prediction_id))
        except Exception as error:
            raise translate_error(error, f"poll {prediction_id}") from None

    def cancel(self, prediction_id: str) -> None:
        """`POST /v1/predictions/{id}/cancel`."""
        try:
            self.poll_client.predictions.cancel(prediction_id)
        except Exception as error:
            raise translate_error(error, f"cancel {prediction_id}") from None

    def find_created(self, model_input: Mapping[str, Any], created_after: str) -> Prediction | None:
        """Walk `GET /v1/predictions` (newest first) back to `created_after` for this input."""
        wanted = dict(model_input)
        since = parse_iso(created_after)
        cursor: Any = ...
        try:
            while True:
                page = self.poll_client.predictions.list(cursor)
                for found in page.results:
                    if parse_iso(found.created_at) < since:
                        return None
                    if found.input == wanted and self._is_ours(found):
                        return to_prediction(found)
                if not page.next:
                    return None
                cursor = page.next
        except Exception as error:
            raise translate_error(error, "looking up a lost create") from None

    def _is_ours(self, found: Any) -> bool:
        model = getattr(found, "model", "") or ""
        return model == f"{self.owner}/{self.name}" or (
            self.version is not None and found.version == self.version
        )


def setup_error(
    error: Exception,
    what: str,
    check: str = "the owner/name[:version] and that your account can see the model",
) -> BackendSetupError:
    """Why a model cannot be used at all, from the error resolving it; `check` says what to check on a 404."""
    if isinstance(error, RequestFailed) and error.status == 401:
        return TokenRejected(
            f"Replicate rejected the token (401 Unauthenticated): copy a valid one from "
            f"https://replicate.com/account/api-tokens and export {TOKEN_VARIABLE}=r8_..."
        )
    if isinstance(error, RequestFailed) and error.status == 404:
        return BackendSetupError(f"{what} was not found on Replicate (404): check {check}")
    return BackendSetupError(f"{what}: {error}")
