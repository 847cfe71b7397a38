"""Rate limit: the emulator enforces N creates/min, the spec says `rate_limit: N`, 2N jobs.

    .venv/bin/python benchmarks/rate_limit.py           # N = 60 and N = 600, time scaled by 0.25
    .venv/bin/python benchmarks/rate_limit.py --quick   # N = 60 only

The floor is 2 minutes (2N creates at N a minute); the target is to finish within 10% of it
(132 model seconds) with no failed job. Time is scaled (default 0.25: 2 minutes take 30 real
seconds); figures are in model seconds. The emulator's limiter, like Replicate's, tolerates a
burst of about one second's worth of creates.
"""

from __future__ import annotations

import argparse
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

FLOOR_S = 120.0
TOLERANCE = 1.10


def run_runner(config: dict[str, Any]) -> None:
    """Child: the runner on 2N rows with `rate_limit: N`."""
    jobs = 2 * config["n"]
    spec = {
        "name": "rate",
        "models": [config["ref"]],
        "concurrency": config["concurrency"],
        "rate_limit": config["n"] * config["pace"],
        "inputs": prompt_rows(jobs),
    }
    emit(child_figures(**measured_run(spec, scale=config["scale"]), jobs=jobs))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", default="60,600", help="creates per minute, comma separated")
    parser.add_argument("--scale", type=float, default=0.25, help="real seconds per model second")
    parser.add_argument("--latency", type=float, default=2.0, help="model seconds per prediction")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--pace",
        type=float,
        default=1.0,
        help="spec rate_limit = pace x N (e.g. 0.97 to leave the server's limiter a margin)",
    )
    parser.add_argument("--quick", action="store_true", help="N = 60 only")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"runner": run_runner}):
        return
    args = parse_args()
    limits = [60] if args.quick else [int(n) for n in args.n.split(",")]
    print(machine_line())
    print(
        f"rate limit: 2N jobs, emulator limit N creates/min = spec rate_limit; model latency "
        f"{args.latency:g} s, concurrency {args.concurrency}, spec rate_limit = {args.pace:g} x N; "
        f"time scaled by {args.scale:g}, figures in model seconds"
    )
    rows = []
    for n in limits:
        emulator = TimedEmulator(token=TOKEN, time_scale=args.scale)
        model = emulator.add_model(text_model("bench", "paced", args.latency))
        emulator.create_rate_limit_per_min = n
        emulator.start()
        env = {"REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
        config = {
            "n": n,
            "ref": model.ref,
            "scale": args.scale,
            "concurrency": args.concurrency,
            "pace": args.pace,
        }
        try:
            mark = emulator.mark()
            figures = run_child(__file__, "runner", config, env)
            log = emulator.since(mark)
        finally:
            emulator.stop()
        kinds = request_kinds(log)
        accepted = sorted(e.start for e in log if e.endpoint == "create" and e.status < 300)
        last_answer = max(e.end for e in log if e.endpoint == "create")
        wall = (figures["ended"] - figures["started"]) / args.scale
        startup_real = accepted[0] - figures["started"]
        tail_real = figures["ended"] - last_answer
        failed = figures["jobs"] - figures["counts"].get("succeeded", 0)
        rows.append(
            [
                n,
                figures["jobs"],
                wall,
                FLOOR_S,
                wall / FLOOR_S,
                (accepted[-1] - accepted[0]) / args.scale,
                (last_answer - accepted[0]) / args.scale,
                startup_real,
                tail_real,
                len(accepted),
                kinds["429"],
                failed,
                "met" if wall <= FLOOR_S * TOLERANCE and failed == 0 else "NOT met",
            ]
        )
    print(
        table(
            [
                "N/min",
                "jobs",
                "wall_s",
                "floor_s",
                "x_floor",
                "creates_span_s",
                "to_last_answer_s",
                "startup_real_s",
                "tail_real_s",
                "accepted",
                "429s",
                "failed",
                "target",
            ],
            rows,
        )
    )
    print(
        "creates_span_s: first to last accepted create; to_last_answer_s: first create to the last "
        "create's answer;\nstartup_real_s, tail_real_s: real seconds from run_batch to the first create "
        "and from the last answer to its return (x 1/scale in wall_s);\n429s: creates the emulator refused "
        "(waited out, never counted as attempts); target: wall <= 1.1 x floor and no failed job"
    )

    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
