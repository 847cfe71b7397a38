import pytest

from replicate_batch.execution.ratelimit import TokenBucket

from .clocks import FakeClock


def test_steady_pace_without_burst_at_start():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_min=60, clock=clock)  # one a second
    times = []
    for _ in range(5):
        assert bucket.acquire()
        times.append(clock.monotonic())
    assert times == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_burst_is_at_most_one_second_worth():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_min=600, clock=clock)  # 10 a second
    clock.sleep(100)  # idle for a long time: the bucket fills, but only to one second's worth
    start = clock.monotonic()
    granted_instantly = 0
    while bucket.acquire() and clock.monotonic() == start:
        granted_instantly += 1
    assert granted_instantly == 10


def test_pause_holds_everyone_back_and_deadline_gives_up():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_min=6000, clock=clock)
    assert bucket.acquire()
    bucket.pause(5.0)
    assert not bucket.acquire(deadline=clock.monotonic() + 1.0)
    assert bucket.acquire()
    assert clock.monotonic() >= 5.0


def _busiest_minute(times: list[float]) -> int:
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 60.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("per_minute", [2500, 600, 61, 60, 30, 2, 1])
def test_at_most_never_allows_more_than_the_budget_in_any_minute(per_minute: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket.at_most(per_minute, clock)
    times = []
    for phase in range(3):  # busy from the start, then after a long idle spell (a full burst), then paused
        if phase == 1:
            clock.sleep(500)
        if phase == 2:
            bucket.pause(7.5)
        for _ in range(3 * per_minute):
            assert bucket.acquire()
            times.append(clock.monotonic())
    assert _busiest_minute(times) <= per_minute
    if per_minute >= 30:  # and it does not starve: over its busy time it keeps close to the budget
        assert len(times) >= 0.95 * per_minute * (times[-1] - 500 - 7.5) / 60
