"""Memory: 10,000 and 100,000 jobs through an instant in-process backend, peak RSS per run.

    .venv/bin/python benchmarks/memory.py            # 1k (floor), 10k and 100k jobs, two shapes
    .venv/bin/python benchmarks/memory.py --quick    # 1k and 10k, rows shape only

The backend is a test double behind the real `Backend` interface: every create answers a
succeeded prediction with a short text output at once (`tests/doubles.py`, handed to `run_batch`
through its `backends` argument), so the run is all runner (job expansion, submission, journal,
results.csv, progress).

Shapes: `rows` is a CSV with one row per job (the common case: a big data set); `matrix` is
1/100th of the rows times a 100-value matrix key (few rows, many jobs).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import (
    child_figures,
    emit,
    load_line,
    machine_line,
    measured_run,
    results_rows,
    run_as_child,
    run_child,
    table,
)

CONCURRENCY = 16


def write_rows(path: Path, count: int) -> None:
    """A rows CSV: id, prompt and a `_expected` metadata column."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt", "_expected"])
        for i in range(count):
            writer.writerow(
                [f"r{i}", f"row {i}: a photo of a cat on a sofa, in the style of number {i}", "cat"]
            )


def run_child_batch(config: dict[str, Any]) -> None:
    """Child: run the spec with every model on the instant backend; report peak RSS."""
    from replicate_batch import runner
    from tests.doubles import instant_backends

    if config["no_report"] and hasattr(runner, "try_write_report"):
        runner.try_write_report = lambda *args, **kwargs: (None, "")  # to attribute the peak
    samples: list[tuple[float, float]] = []  # (seconds since start, RSS MB), to see growth over time
    stop = threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        while not stop.wait(0.25):
            samples.append((time.perf_counter() - started, _rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    spec: dict[str, Any] = {
        "name": "memory",
        "models": [{"ref": "bench/instant"}],
        "concurrency": CONCURRENCY,
        "rate_limit": 1e9,
        "inputs": config["rows_file"],
    }
    if config["matrix"]:
        spec["matrix"] = {"seed": list(range(config["matrix"]))}
    figures = measured_run(spec, quiet=False, backends=instant_backends(), inspect=results_rows)
    stop.set()
    sampler.join()
    emit(
        child_figures(
            **figures,
            succeeded=figures["counts"].get("succeeded", 0),
            rss_at_half=_rss_at(samples, 0.5),
            rss_at_end=samples[-1][1] if samples else 0.0,
        )
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 2**20


def _rss_at(samples: list[tuple[float, float]], fraction: float) -> float:
    if not samples:
        return 0.0
    return samples[min(len(samples) - 1, int(len(samples) * fraction))][1]


def run_imports_only(config: dict[str, Any]) -> None:
    """Child: the floor, what importing the package costs before any job."""
    import replicate_batch
    import replicate_batch.runner  # noqa: F401

    emit(child_figures(wall_s=0.0, results_rows=0, succeeded=0, rss_at_half=0.0, rss_at_end=0.0))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", default="1000,10000,100000", help="job counts, comma separated")
    parser.add_argument("--shapes", default="rows,matrix", help="rows and/or matrix")
    parser.add_argument(
        "--no-report", action="store_true", help="skip writing report.html at the end (to attribute the peak)"
    )
    parser.add_argument("--quick", action="store_true", help="1k and 10k jobs, rows shape only")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"imports": run_imports_only, "batch": run_child_batch}):
        return
    args = parse_args()
    counts = [1000, 10_000] if args.quick else [int(n) for n in args.jobs.split(",")]
    shapes = ["rows"] if args.quick else [s.strip() for s in args.shapes.split(",")]
    print(machine_line())
    print(
        f"memory: instant in-process backend, concurrency {CONCURRENCY}; peak RSS of a fresh process per run"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-memory-rows-"))
    rows_out = []
    peaks: dict[tuple[str, int], float] = {}
    try:
        floor = run_child(__file__, "imports", {})
        rows_out.append(["imports only", "-", 0, "-", "-", floor["maxrss_mb"], "-", "-", "-"])
        for shape in shapes:
            for jobs in counts:
                per_row = 100 if shape == "matrix" else 1
                rows_file = work / f"rows-{jobs // per_row}.csv"
                if not rows_file.exists():
                    write_rows(rows_file, jobs // per_row)
                config = {
                    "rows_file": str(rows_file),
                    "matrix": per_row if shape == "matrix" else 0,
                    "no_report": args.no_report,
                }
                figures = run_child(__file__, "batch", config)
                peaks[(shape, jobs)] = figures["maxrss_mb"]
                rows_out.append(
                    [
                        shape + (" (no report.html)" if args.no_report else ""),
                        f"{jobs // per_row:,} x {per_row}",
                        jobs,
                        figures["wall_s"],
                        jobs / figures["wall_s"],
                        figures["maxrss_mb"],
                        figures["rss_at_half"],
                        figures["maxrss_mb"] - floor["maxrss_mb"],
                        f"{figures['succeeded']:,}/{figures['results_rows']:,}",
                    ]
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        table(
            [
                "shape",
                "rows x values",
                "jobs",
                "wall_s",
                "jobs/s",
                "peak_rss_mb",
                "rss_mid_mb",
                "above_floor_mb",
                "ok/csv",
            ],
            rows_out,
        )
    )
    for shape in shapes:
        small, large = peaks.get((shape, 10_000)), peaks.get((shape, 100_000))
        if small and large:
            verdict = "met" if large < 300 and large <= 1.5 * small else "NOT met"
            print(
                f"{shape}: peak at 100k {large:.1f} MB (target < 300), {large / small:.2f}x the peak at 10k "
                f"(target <= 1.5x): {verdict}"
            )
    print(
        "rss_mid_mb: RSS halfway through the run (sampled every 0.25 s); ok/csv: succeeded / results.csv rows"
    )

    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
