"""The poll budget's limiter with hundreds of waiting threads: CPU spent and GETs per minute kept.

    .venv/bin/python benchmarks/bucket_herd.py [--threads 300] [--scale 0.05]

Each thread loops: take a token, "poll", wait 0.5 s of clock time, against the package's
TokenBucket (each waiter reserves its slot and sleeps once; before that change every waiter woke for
each token, which cost 6.9 s of CPU here against 0.43 s: see benchmarks/README.md). Time is scaled;
CPU seconds are real.
"""

from __future__ import annotations

import argparse
import bisect
import resource
import threading
import time
from typing import Any

from harness import load_line, machine_line, table

from replicate_batch.clock import Clock
from replicate_batch.execution.ratelimit import TokenBucket

BUDGET = 2500


def measure(kind: Any, threads: int, scale: float, seconds_real: float) -> list[Any]:
    clock = Clock(time_scale=scale)
    bucket = kind(BUDGET, clock)
    times: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds_real

    def worker() -> None:
        while time.monotonic() < stop_at:
            bucket.acquire()
            with lock:
                times.append(clock.monotonic())
            clock.sleep(0.5)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    times.sort()
    busiest = max(bisect.bisect_right(times, t + 60) - i for i, t in enumerate(times))
    span = times[-1] - times[0]
    return [kind.__name__, threads, len(times), span, busiest, usage.ru_utime + usage.ru_stime - cpu_before]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=300)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seconds", type=float, default=4.0, help="real seconds per limiter")
    args = parser.parse_args()
    print(machine_line())
    print(f"budget {BUDGET}/min, {args.threads} threads, time scaled by {args.scale:g}")
    rows = [measure(kind, args.threads, args.scale, args.seconds) for kind in (TokenBucket,)]
    print(table(["limiter", "threads", "acquired", "clock_span_s", "busiest_60s", "cpu_s"], rows))
    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
