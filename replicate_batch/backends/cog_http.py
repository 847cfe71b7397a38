"""Models on Cog's own HTTP server: a local folder the runner serves (`cog:`) or running servers (`url:`)."""

from __future__ import annotations

import base64
import mimetypes
import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import BackendSetupError, RequestFailed, Unreachable
from ..spec.loading import LoadedSpec
from .base import Backend, ModelInfo, OnCreated, Prediction, Status, reported_metrics
from .cog_process import CogProcess, remove_prediction_dirs

BUSY_FIRST_WAIT_S = 0.02
BUSY_MAX_WAIT_S = 1.0
CONNECT_TIMEOUT_S = 5.0
CANCEL_TRIES = 100
CANCEL_RETRY_S = 0.05


class CogBackend(Backend):
    """Sends each prediction as a synchronous `PUT /predictions/{id}` to a free server slot."""

    def __init__(
        self,
        model_ref: str,
        *,
        urls: list[str] | None = None,
        processes: list[CogProcess] | None = None,
        slots_per_server: int = 1,
        timeout_s: float = 1800.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.model_ref = model_ref
        self.processes = processes or []
        self._urls = list(urls or [])
        self.slots_per_server = slots_per_server
        self.timeout_s = timeout_s
        self.clock = clock
        self._free: queue.Queue[str] = queue.Queue()
        self._where: dict[str, str] = {}  # prediction id -> server URL, for cancel
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._running: set[str] = (
            set()
        )  # predictions whose PUT has not returned yet  # every thread's session, closed by stop()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def start(self) -> ModelInfo:
        """Start the managed servers (if any), check every server's health, read its schema."""
        for process in self.processes:
            process.start()
            self._urls.append(process.url)
        schema: dict[str, Any] | None = None
        for url in self._urls:
            status = self._health(url)
            if status not in ("READY", "BUSY"):
                raise BackendSetupError(f"the Cog server at {url} is not ready (health: {status})")
            schema = schema or self._schema(url)
        for _ in range(self.slots_per_server):
            for url in self._urls:
                self._free.put(url)
        return ModelInfo(version=None, openapi_schema=schema, endpoint=self._endpoint())

    def _endpoint(self) -> str:
        """Where predictions go, for the plan: Cog servers the runner started, or the given ones."""
        count = len(self.processes) or len(self._urls)
        servers = "server" if count == 1 else "servers"
        if self.processes:
            return f"local Cog: {count} {servers} the runner started (PUT /predictions/{{id}})"
        return f"Cog {servers} " + ", ".join(self._urls) + " (PUT /predictions/{id})"

    def _health(self, url: str) -> str:
        try:
            data = self._session().get(f"{url}/health-check", timeout=CONNECT_TIMEOUT_S).json()
        except (requests.RequestException, ValueError) as error:
            raise BackendSetupError(f"no Cog server answers at {url}: {type(error).__name__}") from None
        return str(data.get("status", "unknown")) if isinstance(data, dict) else "unknown"

    def _schema(self, url: str) -> dict[str, Any] | None:
        try:
            response = self._session().get(f"{url}/openapi.json", timeout=CONNECT_TIMEOUT_S)
            data = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def stop(self) -> None:
        """Close every connection, stop the managed servers, tidy coglet's per-prediction temp folders."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()
        for process in self.processes:
            process.stop()
        if self.processes:
            with self._lock:
                remove_prediction_dirs(set(self._where))

    def prepare_file(self, path: Path) -> str:
        """Cog takes files as data URIs (it downloads http URLs itself)."""
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        """Run the prediction on the next free slot; returns when it has ended."""
        prediction_id = f"rb-{uuid.uuid4().hex[:20]}"
        url = self._free.get()
        try:
            with self._lock:
                self._where[prediction_id] = url
                self._running.add(prediction_id)
            on_created(prediction_id)
            return self._put_until_accepted(url, prediction_id, model_input, time_left_s)
        finally:
            with self._lock:
                self._running.discard(prediction_id)
            self._free.put(url)

    def _put_until_accepted(
        self, url: str, prediction_id: str, model_input: Mapping[str, Any], time_left_s: float
    ) -> Prediction:
        """PUT, waiting out 409 "busy" (a slot frees a moment after its answer) with backoff."""
        wait_s = BUSY_FIRST_WAIT_S
        deadline = self.clock.monotonic() + time_left_s
        body = {"id": prediction_id, "input": dict(model_input)}
        while True:
            try:
                response = self._session().put(
                    f"{url}/predictions/{prediction_id}",
                    json=body,
                    timeout=(CONNECT_TIMEOUT_S, max(0.01, time_left_s * self.clock.time_scale)),
                )
            except requests.Timeout:
                self.cancel(prediction_id)
                return Prediction(
                    prediction_id, "canceled", error=f"timed out after {self.timeout_s:g}s; canceled"
                )
            except requests.RequestException as error:
                raise self._unreachable(url, error) from None
            if response.status_code != 409:
                return self._read(url, prediction_id, response)
            if self._health(url) in ("UNHEALTHY", "DEFUNCT"):
                raise RequestFailed(
                    f"the Cog server at {url} is unhealthy (its worker crashed) and refuses predictions",
                    status=409,
                    retryable=False,
                )
            if self.clock.monotonic() + wait_s > deadline:
                return Prediction(prediction_id, "canceled", error=f"server busy for {self.timeout_s:g}s")
            self.clock.sleep(wait_s)
            wait_s = min(BUSY_MAX_WAIT_S, wait_s * 2)

    def _unreachable(self, url: str, error: Exception) -> Exception:
        for process in self.processes:
            if process.url == url and process.exit_code() is not None:
                return RequestFailed(
                    f"the Cog server for {self.model_ref} exited (code {process.exit_code()}); "
                    f"its log ends:\n{process.log_tail()}",
                    retryable=False,
                )
        return Unreachable(f"no answer from the Cog server at {url}: {type(error).__name__}: {error}")

    def _read(self, url: str, prediction_id: str, response: requests.Response) -> Prediction:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 422:
            raise RequestFailed(f"invalid input: {_validation_message(data)}", status=422, retryable=False)
        if response.status_code >= 400 or not isinstance(data, dict):
            detail = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise RequestFailed(
                f"Cog server at {url} answered HTTP {response.status_code}: {detail}",
                status=response.status_code,
                retryable=response.status_code >= 500,
            )
        status: Status = data.get("status", "failed")
        if status not in ("succeeded", "failed", "canceled"):
            status = "failed"
            data["error"] = data.get("error") or f"unexpected status {data.get('status')!r} from {url}"
        metrics = data.get("metrics") or {}
        return Prediction(
            id=str(data.get("id") or prediction_id),
            status=status,
            output=data.get("output"),
            error=data.get("error"),
            logs=data.get("logs") or "",
            predict_time=metrics.get("predict_time") if isinstance(metrics, dict) else None,
            metrics=reported_metrics(metrics),
        )

    def get(self, prediction_id: str) -> Prediction:
        """Cog has no GET for predictions; `create` always returns a finished one."""
        raise RequestFailed("Cog servers cannot be polled", retryable=False)

    def cancel(self, prediction_id: str) -> None:
        """`POST /predictions/{id}/cancel` on the server running it."""
        with self._lock:
            url = self._where.get(prediction_id)
        if url is None:
            return
        for _ in range(CANCEL_TRIES):
            try:
                response = requests.post(
                    f"{url}/predictions/{prediction_id}/cancel", timeout=CONNECT_TIMEOUT_S
                )
            except requests.RequestException as error:
                raise Unreachable(f"cancel {prediction_id}: {error}") from None
            with self._lock:
                still_sending = prediction_id in self._running
            # 404 while our PUT is on its way: the server does not know the id yet; ask again.
            if response.status_code != 404 or not still_sending:
                return
            self.clock.sleep(CANCEL_RETRY_S)


def _validation_message(data: Any) -> str:
    details = data.get("detail") if isinstance(data, dict) else None
    if isinstance(details, list):
        parts = []
        for item in details:
            if isinstance(item, dict):
                field = ".".join(str(p) for p in item.get("loc", [])[2:]) or "input"
                parts.append(f"{field}: {item.get('msg')}")
        return "; ".join(parts) or str(data)
    return str(details or data)


def make_cog_backend(loaded: LoadedSpec, index: int, clock: Clock = SYSTEM_CLOCK) -> Backend:
    """The backend for a `cog:` or `url:` model entry."""
    model = loaded.spec.models[index]
    name = loaded.model_names[index]
    timeout_s = loaded.spec.timeout
    if model.cog is not None:
        folder = loaded.resolve_path(model.cog)
        lanes = model.concurrency or 1
        make: Callable[[], CogProcess] = lambda: CogProcess(folder, label=name)  # noqa: E731
        return CogBackend(
            model.spec_ref(), processes=[make() for _ in range(lanes)], timeout_s=timeout_s, clock=clock
        )
    urls = [u.rstrip("/") for u in model.urls]
    slots = -(-model.concurrency // len(urls)) if model.concurrency else 1
    return CogBackend(model.spec_ref(), urls=urls, slots_per_server=slots, timeout_s=timeout_s, clock=clock)
