"""The one retry policy: which failures are retried, how long to wait, when to give up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import tenacity
from tenacity import RetryCallState

from ..clock import Clock
from ..errors import DownloadError, ModelFailed, RequestFailed, Throttled, Unreachable
from ..spec.model import RetrySpec

T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """Whether a request that failed this way may succeed if simply sent again."""
    if isinstance(error, (Throttled, Unreachable)):
        return True
    if isinstance(error, (RequestFailed, DownloadError)):
        return error.retryable
    return isinstance(error, (requests.ConnectionError, requests.Timeout))


@dataclass(frozen=True)
class RetryPolicy:
    """Builds tenacity retry loops from the spec's `retry:` settings and an injected clock."""

    spec: RetrySpec
    clock: Clock

    def backoff_s(self, retry_state: RetryCallState) -> float:
        """Wait before the next try: the server's `retry_after` if given, else exponential + jitter."""
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, Throttled) and error.retry_after_s is not None:
            return error.retry_after_s
        exponential = tenacity.wait_exponential_jitter(
            multiplier=self.spec.initial_wait, max=self.spec.max_wait, jitter=self.spec.initial_wait
        )
        return float(exponential(retry_state))

    def _retrying(
        self, stop: Callable[[RetryCallState], bool], retry: Callable[[BaseException], bool]
    ) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=stop,
            wait=self.backoff_s,
            retry=tenacity.retry_if_exception(retry),
            sleep=self.clock.sleep,
            reraise=True,
        )

    def until(self, deadline: float) -> tenacity.Retrying:
        """Retry transient errors until the clock passes `deadline` (polls: the job's timeout)."""
        return self._retrying(self._past(deadline), is_transient)

    def tries(self, deadline: float | None = None) -> tenacity.Retrying:
        """Retry transient errors up to `max_attempts` tries (downloads, uploads)."""
        attempts = tenacity.stop_after_attempt(self.spec.max_attempts)
        past = self._past(deadline)
        return self._retrying(lambda state: attempts(state) or past(state), is_transient)

    def predictions(self, deadline: float) -> tenacity.Retrying:
        """The loop around whole prediction attempts; 429s are waited out without counting."""
        counter = _TryCounter(self.spec.max_attempts)
        past = self._past(deadline)
        return self._retrying(lambda state: counter(state) or past(state), self.should_retry_prediction)

    def should_retry_prediction(self, error: BaseException) -> bool:
        """Whether a prediction attempt that failed this way is tried again."""
        if isinstance(error, ModelFailed):
            return self.spec.on_model_error
        return isinstance(error, (Throttled, RequestFailed)) and is_transient(error)

    def _past(self, deadline: float | None) -> Callable[[RetryCallState], bool]:
        def stop(state: RetryCallState) -> bool:
            if deadline is None:
                return False
            return self.clock.monotonic() + self.backoff_s(state) >= deadline

        return stop


class _TryCounter:
    """A tenacity stop that counts tries but not 429 waits."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.tries = 0

    def __call__(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if not isinstance(error, Throttled):
            self.tries += 1
        return self.tries >= self.max_attempts
