from replicate_batch.ratelimit import TokenBucket

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
