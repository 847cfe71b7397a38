"""What writing `report.html` costs in memory and time, for runs of 10,000 and 100,000 results.

Usage: .venv/bin/python benchmarks/report_memory.py [--jobs 10000,100000] [--repeats 1]

Writes synthetic run folders (tests/sample_runs.py: 4 models per row, two PNGs, a text with every 10th
one 1,200 characters long, a JSON object and a WAV file per row; every 25th job failed; the output files
are named in results.csv but not written, as the report only links to them) into a temporary folder.
Then, for each, a fresh Python process imports the package and calls `write_report` once; it reports its
peak RSS (`ru_maxrss`) and the wall time of `write_report`. A process that only imports the package gives
the floor. Issue 6 wants a 100,000-job run under 300 MB and at most 1.5x the peak of a 10,000-job run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import child_figures, emit, load_line, machine_line, run_as_child, run_child, table

from tests.sample_runs import write_synthetic_run  # importable once harness has put the project on sys.path

MODELS_PER_ROW = 4  # tests/sample_runs.py SYNTHETIC_MODELS


def run_imports_only(config: dict[str, Any]) -> None:
    """Child: the floor, the package and its report module imported."""
    import replicate_batch.reports.page  # noqa: F401

    emit(child_figures(write_s=0.0, report_mb=0.0, embedded=0))


def run_write_report(config: dict[str, Any]) -> None:
    """Child: write the report of one run folder and report the peak RSS and the time it took."""
    from replicate_batch.reports.page import write_report

    started = time.perf_counter()
    path = write_report(config["run_dir"])
    write_s = time.perf_counter() - started
    html = path.read_text(encoding="utf-8")
    embedded = len(re.findall(r'"id":"', html))  # one per job in the page's data
    emit(child_figures(write_s=write_s, report_mb=path.stat().st_size / 1e6, embedded=embedded))


def main() -> int:
    """Build the runs, measure each in a fresh process, print a table."""
    if run_as_child({"imports": run_imports_only, "report": run_write_report}):
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="10000,100000", help="result counts, comma separated")
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per run folder")
    args = parser.parse_args()
    counts = [int(n) for n in args.jobs.split(",")]
    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="bench-report-memory-"))
    rows: list[list[Any]] = []
    peaks: dict[int, float] = {}
    try:
        floor = run_child(__file__, "imports", {})
        rows.append(["imports only", 0, "-", "-", "-", floor["maxrss_mb"], 0.0])
        for jobs in counts:
            run_dir = write_synthetic_run(
                work / f"run-{jobs}", rows=jobs // MODELS_PER_ROW, write_files=False
            )
            csv_mb = (run_dir / "results.csv").stat().st_size / 1e6
            for _ in range(args.repeats):
                figures = run_child(__file__, "report", {"run_dir": str(run_dir)})
                peaks[jobs] = max(peaks.get(jobs, 0.0), figures["maxrss_mb"])
                rows.append(
                    [
                        f"{jobs:,} results ({csv_mb:.1f} MB csv)",
                        figures["embedded"],
                        figures["report_mb"],
                        figures["write_s"],
                        figures["cpu_s"],
                        figures["maxrss_mb"],
                        figures["maxrss_mb"] - floor["maxrss_mb"],
                    ]
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    headers = ["run", "jobs_embedded", "report_mb", "write_s", "cpu_s", "peak_rss_mb", "above_floor_mb"]
    print(table(headers, rows))
    small, large = peaks.get(10_000), peaks.get(100_000)
    if small and large:
        print(f"peak at 100k {large:.1f} MB, {large / small:.2f}x the peak at 10k")
    print(f"at the end: {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
