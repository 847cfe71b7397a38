"""How long a 2,000-row x 4-model report takes to open in headless Chromium.

Usage: .venv/bin/python benchmarks/report_open.py [--rows 2000] [--repeats 5] [--chromium /usr/bin/chromium]

Writes a synthetic run folder (tests/sample_runs.py: per row two PNGs, a text, a JSON and a WAV; every
25th job failed) into a temporary folder, writes its report with `write_report`, then opens it from
file:// in a fresh page `--repeats` times and prints, from the page's own Performance API (milliseconds
since navigation start): when the first grid rows were in the DOM (`grid-first-rows` mark), the `load`
event, and when the last chunk of rows was drawn (`grid-complete` mark). Medians are printed last.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from replicate_batch.reports.page import write_report
from tests.browser import launch_chromium
from tests.sample_runs import write_synthetic_run

TIMINGS_JS = """() => {
  const mark = name => performance.getEntriesByName(name)[0].startTime;
  const nav = performance.getEntriesByType('navigation')[0];
  return [mark('grid-first-rows'), nav.loadEventStart, mark('grid-complete')];
}"""


def main() -> int:
    """Build the run, write its report, open it `--repeats` times and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = write_synthetic_run(Path(tmp) / "synthetic-run", rows=args.rows)
        started = time.perf_counter()
        report = write_report(run_dir)
        write_s = time.perf_counter() - started
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        size_mb = report.stat().st_size / 1e6
        print(f"report.html: {args.rows} rows x 4 models, {size_mb:.1f} MB, written in {write_s:.2f} s")
        samples = []
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, args.chromium)
            print(f"browser: chromium {browser.version} (headless)")
            for attempt in range(args.repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(report.as_uri(), wait_until="load")
                page.wait_for_selector("body[data-rendered=complete]", timeout=120_000)
                first, load, complete = page.evaluate(TIMINGS_JS)
                samples.append((first, load, complete))
                timings = f"first rows {first:.0f} ms, load {load:.0f} ms, all rows {complete:.0f} ms"
                print(f"open {attempt + 1}: {timings}")
                page.close()
            browser.close()
    first, load, complete = (statistics.median(column) for column in zip(*samples))
    print(
        f"median of {args.repeats}: first rows {first:.0f} ms, load {load:.0f} ms, all rows {complete:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
