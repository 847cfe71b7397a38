"""Judges in the pool: N candidate predictions plus N judge predictions against 2N plain predictions.

    .venv/bin/python benchmarks/judges.py            # throughput (N=300, C=20), then the rate limit
    .venv/bin/python benchmarks/judges.py --quick    # N=100 and a shorter rate-limit run

Throughput: the judged side runs N rows on `bench/candidate` with one judge scorer on `bench/judge`
(both take `--latency` model seconds), so every job makes two predictions, the judge's as soon as
the candidate's ends; the plain side runs 2N rows on `bench/candidate` alone. Same concurrency, same
latency: with no barrier between candidates and judges and no idle slot, the judged side takes no
longer than the plain one (target: within 1.1x).

Rate limit: the emulator refuses creates beyond `--rate` a minute, the spec says `rate_limit: --rate`,
and the judged side runs `--rate` rows, so 2 x rate creates (candidates and judges) take at least two
minutes. Reported: 429s, the most creates accepted in any 60 model seconds, and the time against
that floor. Time is scaled (`--scale` real seconds per model second); figures are in model seconds.
"""

from __future__ import annotations

import argparse
import bisect
from typing import Any

from harness import (
    TOKEN,
    TimedEmulator,
    child_figures,
    emit,
    load_line,
    machine_line,
    measured_run,
    prompt_rows,
    request_kinds,
    run_as_child,
    run_child,
    table,
    text_model,
)

TOLERANCE = 1.10
JUDGE = {
    "name": "echoed",
    "judge": "bench/judge",
    "ask": {"prompt": "Reference: {prompt}\nAnswer: {output}"},
    "choices": {"echo": 1},  # the judge answers `echo: <prompt>`
}


def run_side(config: dict[str, Any]) -> None:
    """Child: the judged side (N rows, one judge) or the plain side (2N rows, no scorer)."""
    judged = config["side"] == "judged"
    jobs = config["n"] if judged else 2 * config["n"]
    spec: dict[str, Any] = {
        "name": config["side"],
        "models": ["bench/candidate"],
        "concurrency": config["concurrency"],
        "rate_limit": config["rate"],
        "inputs": prompt_rows(jobs),
    }
    if judged:
        spec["scorers"] = [JUDGE]
    figures = measured_run(spec, scale=config["scale"])
    emit(child_figures(**figures, jobs=jobs))


def most_in_window(times: list[float], window_s: float) -> int:
    """The most of these (sorted) times that fall in any window of `window_s`."""
    return max((bisect.bisect_right(times, t + window_s - 1e-9) - i for i, t in enumerate(times)), default=0)


def side(emulator: TimedEmulator, config: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    mark = emulator.mark()
    env = {"REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
    figures = run_child(__file__, "side", config, env)
    return figures, emulator.since(mark)


def throughput(args: argparse.Namespace, n: int) -> None:
    emulator = TimedEmulator(token=TOKEN, time_scale=args.scale)
    emulator.add_model(text_model("bench", "candidate", args.latency))
    emulator.add_model(text_model("bench", "judge", args.latency))
    emulator.start()
    rows = []
    base = {"n": n, "concurrency": args.concurrency, "scale": args.scale, "rate": 1_000_000}
    try:
        walls: dict[str, list[float]] = {}
        for name in ["plain", "judged"] * args.rounds:  # interleaved: load on the machine drifts
            figures, log = side(emulator, {**base, "side": name})
            wall = (figures["ended"] - figures["started"]) / args.scale
            walls.setdefault(name, []).append(wall)
            creates = sum(1 for e in log if e.endpoint == "create" and e.status < 300)
            floor = -(-2 * n // args.concurrency) * args.latency
            rows.append([name, figures["jobs"], creates, wall, floor, wall / floor, figures["cpu_s"]])
    finally:
        emulator.stop()
    print(table(["side", "jobs", "predictions", "wall_s", "floor_s", "x_floor", "cpu_s"], rows))
    ratio = min(walls["judged"]) / min(walls["plain"])
    paired = sorted(j / p for j, p in zip(walls["judged"], walls["plain"]))
    verdict = "met" if ratio <= TOLERANCE else "NOT met"
    print(
        f"judged / plain: best of {args.rounds} each {ratio:.3f} (target <= {TOLERANCE}: {verdict}); "
        f"each round's ratio {', '.join(f'{r:.3f}' for r in paired)} (median {paired[len(paired) // 2]:.3f})"
    )


def rate_limit(args: argparse.Namespace, rate: int) -> None:
    scale = args.rate_scale
    emulator = TimedEmulator(token=TOKEN, time_scale=scale)
    emulator.add_model(text_model("bench", "candidate", args.latency))
    emulator.add_model(text_model("bench", "judge", args.latency))
    emulator.create_rate_limit_per_min = rate
    emulator.start()
    config = {"side": "judged", "n": rate, "concurrency": 64, "scale": scale, "rate": rate}
    try:
        figures, log = side(emulator, config)
    finally:
        emulator.stop()
    accepted = sorted(e.start / scale for e in log if e.endpoint == "create" and e.status < 300)
    wall = (figures["ended"] - figures["started"]) / scale
    floor = 2 * rate / rate * 60.0
    failed = figures["jobs"] - figures["counts"].get("succeeded", 0)
    worst = most_in_window(accepted, 60.0)
    print(
        table(
            ["rate/min", "jobs", "creates", "429s", "most_in_60s", "wall_s", "floor_s", "x_floor", "failed"],
            [
                [
                    rate,
                    figures["jobs"],
                    len(accepted),
                    request_kinds(log)["429"],
                    worst,
                    wall,
                    floor,
                    wall / floor,
                    failed,
                ]
            ],
        )
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="jobs of the judged side (the plain side: 2N)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.0, help="model seconds per prediction")
    parser.add_argument("--scale", type=float, default=0.1, help="real seconds per model second")
    parser.add_argument("--rate", type=int, default=120, help="creates per minute for the rate-limit run")
    parser.add_argument("--rate-scale", type=float, default=0.25, help="time scale of the rate-limit run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, interleaved")
    parser.add_argument("--quick", action="store_true", help="N=100, rate 60")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"side": run_side}):
        return
    args = parse_args()
    n, rate = (100, 60) if args.quick else (args.n, args.rate)
    print(machine_line())
    print(
        f"throughput: judged = {n} jobs x (candidate + judge), plain = {2 * n} jobs; concurrency "
        f"{args.concurrency}, latency {args.latency:g} model s, time scaled by {args.scale:g}"
    )
    throughput(args, n)
    print(
        f"\nrate limit: {rate} jobs x (candidate + judge) at rate_limit {rate}/min, "
        "the emulator refusing more"
    )
    rate_limit(args, rate)
    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
