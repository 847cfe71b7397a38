"""An in-process backend double behind the real `Backend` interface (tests and benchmarks)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from replicate_batch.backends.base import Backend, ModelInfo, OnCreated, Prediction
from replicate_batch.clock import Clock, utc_now_iso
from replicate_batch.errors import RequestFailed
from replicate_batch.spec.loading import LoadedSpec

PROMPT_SCHEMA: Mapping[str, Any] = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
                    "seed": {"type": "integer", "title": "Seed", "x-order": 1},
                },
            },
            "Output": {"type": "string", "title": "Output"},
        }
    },
}


class InstantBackend(Backend):
    """Answers every create with a finished prediction at once: `echo: <prompt>`.

    A prompt containing `fail` gets a failed prediction instead. Counts creates and the most
    creates that were ever running at the same time. `latency_s` holds each create that long first
    (benchmarks only: a model that takes time, as every real one does; tests keep it 0).
    """

    def __init__(
        self, ref: str = "double/instant", schema: Mapping[str, Any] = PROMPT_SCHEMA, latency_s: float = 0.0
    ) -> None:
        self.model_ref = ref
        self.schema = schema
        self.latency_s = latency_s
        self.creates = 0
        self.most_at_once = 0
        self.stopped = False
        self._running = 0
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def start(self) -> ModelInfo:
        return ModelInfo(version="instant-1", openapi_schema=self.schema)

    def stop(self) -> None:
        self.stopped = True

    def prepare_file(self, path: Path) -> str:
        return path.as_uri()

    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        with self._lock:
            self.creates += 1
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
            prediction_id = f"p{next(self._ids)}"
        try:
            on_created(prediction_id)
            if self.latency_s:
                time.sleep(self.latency_s)
            prompt = str(model_input.get("prompt", ""))
            now = utc_now_iso()
            failed = "fail" in prompt
            return Prediction(
                id=prediction_id,
                status="failed" if failed else "succeeded",
                output=None if failed else f"echo: {prompt}",
                error="the double was asked to fail" if failed else None,
                predict_time=0.0,
                version="instant-1",
                created_at=now,
                completed_at=now,
            )
        finally:
            with self._lock:
                self._running -= 1

    def get(self, prediction_id: str) -> Prediction:
        raise RequestFailed("an instant prediction is never polled", status=500, retryable=False)

    def cancel(self, prediction_id: str) -> None:
        return None


def instant_backends(
    made: list[InstantBackend] | None = None, latency_s: float = 0.0
) -> Callable[..., list[Backend]]:
    """A `run_batch(backends=...)` factory: one InstantBackend per model (each create held
    `latency_s`), appended to `made`."""

    def factory(loaded: LoadedSpec, *, concurrency: int, clock: Clock) -> list[Backend]:
        backends = [InstantBackend(model.spec_ref(), latency_s=latency_s) for model in loaded.spec.models]
        if made is not None:
            made.extend(backends)
        return list(backends)

    return factory
