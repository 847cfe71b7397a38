"""The seam between the runner and the places a model can run.

The runner only ever talks to a `Backend`: the hosted Replicate API (`replicate_api.py`, deployments
in `replicate_deployment.py`) and Cog's own HTTP server (`cog_http.py`) all implement it, so the
runner never knows where a model runs. Backends translate every outcome into a `Prediction` or one of
the typed errors below; they never retry on their own except where noted, because retry policy
belongs to the runner.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["starting", "processing", "succeeded", "failed", "canceled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class ModelInfo:
    """What a backend learned about its model before the run: version and OpenAPI schema."""

    version: str | None
    openapi_schema: Mapping[str, Any] | None
    description: str = ""
    #: Where its predictions are created, for the dry-run plan (`version abc123 (POST /v1/predictions)`).
    endpoint: str = ""


@dataclass(frozen=True)
class Prediction:
    """One prediction as the server last reported it, normalised across backends."""

    id: str
    status: Status
    output: Any = None
    error: str | None = None
    logs: str = ""
    predict_time: float | None = None
    version: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    input: Mapping[str, Any] | None = field(default=None, compare=False)
    #: Every other number the server reported in `metrics` (tokens, time to first token, ...).
    metrics: Mapping[str, float] = field(default_factory=dict, compare=False)

    @property
    def is_terminal(self) -> bool:
        """True once the prediction will not change any more."""
        return self.status in TERMINAL_STATUSES


OnCreated = Callable[[str], None]


def reported_metrics(metrics: Any) -> dict[str, float]:
    """The numbers in a prediction's `metrics` other than `predict_time` (which has its own column).

    Replicate's language models report `input_token_count`, `output_token_count`,
    `time_to_first_token`, `tokens_per_second`, every prediction `total_time`, image models
    `image_count`; Cog servers whatever the model records. Anything not a number is left out.
    """
    if not isinstance(metrics, Mapping):
        return {}
    return {
        str(name): value
        for name, value in metrics.items()
        if name != "predict_time"
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }


class Backend(abc.ABC):
    """Runs predictions for one model entry of a spec."""

    #: How the spec named the model (`owner/name[:version]`, `cog:...`, `url:...`).
    model_ref: str
    #: Whether `find_created` can look a prediction up after a lost create response.
    can_find_created: bool = False
    #: Seconds after a create was sent that it may still make a prediction (its request timeout):
    #: until then, `find_created` not finding it does not prove it was never created.
    create_timeout_s: float = 0.0

    @abc.abstractmethod
    def start(self) -> ModelInfo:
        """Resolve the model (and start any server it needs); called once before the run."""

    def stop(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release whatever `start` acquired; safe to call more than once."""

    @abc.abstractmethod
    def prepare_file(self, path: Path) -> str:
        """Turn a local file into an input value the server accepts (an upload URL or data URI)."""

    @abc.abstractmethod
    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        """Start a prediction and return its first known state, which may already be terminal.

        `on_created` is called with the prediction id as soon as it is known, before any further
        waiting, so the caller can journal it. The call may wait for the result, but not longer
        than `time_left_s` (clock seconds until the job's timeout).
        """

    @abc.abstractmethod
    def get(self, prediction_id: str) -> Prediction:
        """Fetch the current state of a prediction."""

    @abc.abstractmethod
    def cancel(self, prediction_id: str) -> None:
        """Ask the server to stop a prediction; errors are swallowed by the caller."""

    def find_created(self, model_input: Mapping[str, Any], created_after: str) -> Prediction | None:
        """Look up a prediction with this input created after an ISO time, if the server can."""
        return None
