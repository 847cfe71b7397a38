"""Latency-bound throughput: replicate_batch against the naive ThreadPoolExecutor + replicate.run baseline.

    .venv/bin/python benchmarks/throughput.py            # 1,024 jobs, 2 s model, concurrency 64
    .venv/bin/python benchmarks/throughput.py --quick    # 256 jobs

The emulator runs in this process at real time (no scaling: the baseline's client polls on real
seconds). Each side runs in its own fresh Python process on the same jobs; CPU time and peak RSS
are that process's own, request counts come from the emulator's log of that side's requests.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import (
    TOKEN,
    TimedEmulator,
    child_figures,
    cpu_s,
    emit,
    load_line,
    machine_line,
    measured_run,
    prompt_rows,
    request_kinds,
    results_rows,
    run_as_child,
    run_child,
    table,
    text_model,
)

SIDES = ("replicate_batch", "baseline")
PROMPT = "row {i}: what is in my fridge?"  # the same rows for both sides


def run_replicate_batch(config: dict[str, Any]) -> None:
    """Child: the project's runner, journal, CSV and progress included (progress as plain lines)."""
    spec = {
        "name": "throughput",
        "models": [config["runner_ref"]],
        "concurrency": config["concurrency"],
        "rate_limit": config["rate_limit"],
        "inputs": prompt_rows(config["jobs"], PROMPT),
    }
    figures = measured_run(spec, quiet=False, inspect=results_rows)
    emit(
        child_figures(
            **figures, succeeded=figures["counts"].get("succeeded", 0), rows=figures["results_rows"]
        )
    )


def run_baseline(config: dict[str, Any]) -> None:
    """Child: what a user writes instead (module-level replicate.run in a pool, a CSV of text)."""
    import replicate

    ref = config["baseline_ref"]

    def one(row: dict[str, str]) -> list[str]:
        try:
            output = replicate.run(ref, input={"prompt": row["prompt"]})
            text = output if isinstance(output, str) else "".join(str(x) for x in output)
            return [row["id"], "succeeded", text, ""]
        except Exception as error:
            return [row["id"], "failed", "", str(error)]

    out_dir = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    started, cpu_started = time.perf_counter(), cpu_s()
    with (
        ThreadPoolExecutor(max_workers=config["concurrency"]) as pool,
        open(out_dir / "results.csv", "w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(["id", "status", "output", "error"])
        statuses = []
        for result in pool.map(one, prompt_rows(config["jobs"], PROMPT)):
            writer.writerow(result)
            statuses.append(result[1])
    wall_s, run_cpu_s = time.perf_counter() - started, cpu_s() - cpu_started
    shutil.rmtree(out_dir, ignore_errors=True)
    emit(
        child_figures(
            wall_s=wall_s,
            run_cpu_s=run_cpu_s,
            succeeded=statuses.count("succeeded"),
            rows=len(statuses),
        )
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=2.0, help="model seconds per prediction")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=100_000,
        help="creates/min given to the runner (raised so only latency binds)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="run both sides this many times, alternating")
    parser.add_argument(
        "--official",
        action="store_true",
        help="an official model (`owner/name` refs) instead of a pinned version",
    )
    parser.add_argument("--quick", action="store_true", help="256 jobs")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"replicate_batch": run_replicate_batch, "baseline": run_baseline}):
        return
    args = parse_args()
    jobs = 256 if args.quick else args.jobs
    ideal = min(args.concurrency / args.latency, args.rate_limit / 60)
    print(machine_line())
    print(
        f"throughput: {jobs} jobs, model latency {args.latency:g} s (real time, no scaling), "
        f"concurrency {args.concurrency}, rate_limit {args.rate_limit:g}/min; ideal {ideal:.1f} predictions/s"
    )
    emulator = TimedEmulator(token=TOKEN, time_scale=1.0)
    model = emulator.add_model(text_model("bench", "sleepy", args.latency, official=args.official))
    emulator.start()
    env = {"REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
    config = {
        "jobs": jobs,
        "concurrency": args.concurrency,
        "rate_limit": args.rate_limit,
        "runner_ref": model.ref,
        "baseline_ref": model.ref if args.official else f"{model.ref}:{model.version_id}",
    }
    headers = [
        "side",
        "wall_s",
        "pred/s",
        "x_ideal",
        "cpu_ms/pred",
        "run_cpu_ms/pred",
        "emu_cpu_ms/pred",
        "peak_rss_mb",
        "create/pred",
        "poll/pred",
        "download/pred",
        "other/pred",
        "create_s",
        "idle_ms/pred",
        "ok",
    ]
    rows = []
    try:
        for _ in range(args.rounds):
            for side in SIDES:
                mark, emu_cpu = emulator.mark(), cpu_s()
                figures = run_child(__file__, side, config, env)
                emu_cpu = cpu_s() - emu_cpu
                log = emulator.since(mark)
                kinds = request_kinds(log)
                creates = [e.end - e.start for e in log if e.endpoint == "create"]
                busy_s = sum(e.end - e.start for e in log)
                rate = jobs / figures["wall_s"]
                rows.append(
                    [
                        side,
                        figures["wall_s"],
                        rate,
                        rate / ideal,
                        1000 * figures["cpu_s"] / jobs,
                        1000 * figures["run_cpu_s"] / jobs,
                        1000 * emu_cpu / jobs,
                        figures["maxrss_mb"],
                        kinds["create"] / jobs,
                        kinds["poll"] / jobs,
                        kinds["download"] / jobs,
                        kinds["other"] / jobs,
                        sum(creates) / max(1, len(creates)),
                        1000 * (args.concurrency * figures["wall_s"] - busy_s) / jobs,
                        f"{figures['succeeded']}/{jobs}",
                    ]
                )
    finally:
        emulator.stop()
    print(table(headers, rows))
    print(
        "cpu_ms/pred: the child's whole process (imports included); run_cpu_ms/pred: only the batch; "
        "emu_cpu_ms/pred: the emulator's (this process's) CPU while that side ran;\n"
        "create_s: mean time the emulator held a create (model time + sync-wait overhead); "
        "idle_ms/pred: (concurrency x wall - time inside any request) / jobs, the slots' time spent "
        "outside the server (client-side work, start-up, last-wave tail)"
    )

    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
