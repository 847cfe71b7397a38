import random

import pytest

from replicate_batch.errors import ModelFailed, RequestFailed, Throttled
from replicate_batch.execution.retry import RetryPolicy
from replicate_batch.spec.model import RetrySpec

from .clocks import FakeClock


def failing(errors):
    """A function that raises each error in turn, then returns "ok"; it counts its calls."""
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    call.calls = calls
    return call


def policy(clock, **retry):
    return RetryPolicy(RetrySpec(**retry), clock)


@pytest.fixture
def seeded_random():
    """tenacity draws its jitter from `random`: seeded, the waits are the same on every run."""
    state = random.getstate()
    random.seed(20240501)
    yield
    random.setstate(state)


def test_waits_double_with_jitter_and_are_capped(seeded_random):
    clock = FakeClock()
    call = failing([RequestFailed("boom", status=503, retryable=True)] * 5)
    rules = policy(clock, max_attempts=6, initial_wait=1.0, max_wait=5.0)
    assert rules.predictions(deadline=1e9)(call) == "ok"
    assert len(clock.sleeps) == 5
    jitters = [wait - base for wait, base in zip(clock.sleeps[:3], [1, 2, 4])]
    # Each uncapped wait is the doubled one plus up to `initial_wait` more, a different amount each time.
    assert all(0 < jitter <= 1.0 for jitter in jitters)
    assert len(set(jitters)) == 3
    assert clock.sleeps[3:] == [5.0, 5.0]  # 8 and 16 (plus jitter) are capped at max_wait


def test_jitter_spreads_over_zero_to_initial_wait(seeded_random):
    jitters = []
    for _ in range(200):
        clock = FakeClock()
        policy(clock, max_attempts=2, initial_wait=0.5).predictions(deadline=1e9)(
            failing([RequestFailed("boom", status=503, retryable=True)])
        )
        (wait,) = clock.sleeps
        jitters.append(wait - 0.5)
    assert all(0 <= jitter <= 0.5 for jitter in jitters)
    # Spread over the whole range, so herds of clients retrying together come apart.
    assert min(jitters) < 0.05 and max(jitters) > 0.45
    assert 0.2 < sum(jitters) / len(jitters) < 0.3


def test_throttles_wait_retry_after_and_do_not_count_as_tries():
    clock = FakeClock()
    call = failing([Throttled("slow down", retry_after_s=7)] * 6)
    assert policy(clock, max_attempts=2).predictions(deadline=1e9)(call) == "ok"
    assert clock.sleeps == [7] * 6


def test_gives_up_after_max_attempts_and_reraises():
    clock = FakeClock()
    call = failing([RequestFailed("boom", status=500, retryable=True)] * 10)
    with pytest.raises(RequestFailed):
        policy(clock, max_attempts=3, initial_wait=0.1).predictions(deadline=1e9)(call)
    assert len(call.calls) == 3


def test_never_retries_a_rejected_request():
    clock = FakeClock()
    call = failing([RequestFailed("invalid input", status=422, retryable=False)])
    with pytest.raises(RequestFailed):
        policy(clock).predictions(deadline=1e9)(call)
    assert len(call.calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize(("on_model_error", "calls"), [(False, 1), (True, 2)])
def test_failed_predictions_are_retried_only_when_asked(on_model_error, calls):
    clock = FakeClock()
    call = failing([ModelFailed("the model raised")])
    rules = policy(clock, on_model_error=on_model_error, initial_wait=0.1)
    if on_model_error:
        assert rules.predictions(deadline=1e9)(call) == "ok"
    else:
        with pytest.raises(ModelFailed):
            rules.predictions(deadline=1e9)(call)
    assert len(call.calls) == calls


def test_the_deadline_bounds_throttling():
    clock = FakeClock()
    call = failing([Throttled("slow down", retry_after_s=30)] * 100)
    with pytest.raises(Throttled):
        policy(clock).predictions(deadline=100)(call)
    assert clock.monotonic() < 100
