"""Scoring: what scorers add to a 100,000-job run, and how long `rescore` of that run takes.

    .venv/bin/python benchmarks/scoring.py                 # 100k jobs, 3 rounds a side, 3 rescores
    .venv/bin/python benchmarks/scoring.py --jobs 10000 --rounds 1 --rescores 1   # a quick look
    .venv/bin/python benchmarks/scoring.py --jobs 10000 --latency-ms 20 --rescores 0  # a model taking time

The backend is the in-process double of `tests/doubles.py` (every create answers `echo: <prompt>`
at once), so the run is all runner: job expansion, the worker pool, scoring, journal, results.csv,
the report. Each side runs in a fresh Python process (peak RSS is its own):

- `plain`: the spec without scorers;
- `scored`: the same spec with five deterministic scorers (equals, contains with ignore_case, regex,
  one_of, json_schema) and one python scorer (`short`: at most 20 words), the sides alternating
  (concurrency 8, the default; `--concurrency`);
- `rescore`: `rescore_run` of the last `scored` run folder, with the same scorers;
- `floor`: a process that only imports the package and `rescore`.

Issue 13's targets: `scored` at most 5% more wall time and 20 MB more peak RSS than `plain`;
`rescore` under 20 s and 300 MB peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import child_figures, emit, load_line, machine_line, run_as_child, run_child, table

CONCURRENCY = 8  # the spec's default
HEADERS = ["side", "jobs", "wall s", "CPU s", "peak RSS MB", "exit"]
SCORERS_PY = '''
def short(output, row):
    """At most 20 words."""
    return len(output.split()) <= 20
'''


def write_rows(path: Path, count: int) -> None:
    """A rows CSV: id, prompt and the `_expected` metadata the scorers compare with."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt", "_expected"])
        for i in range(count):
            animal = ("cat", "dog", "owl")[i % 3]
            writer.writerow([f"r{i}", f"row {i}: a photo of a {animal} on a sofa, style {i}", "Cat"])


def spec(config: dict[str, Any]) -> dict[str, Any]:
    """The spec both sides run; `scored` adds the scorers."""
    data: dict[str, Any] = {
        "name": "scoring",
        "models": [{"ref": "bench/instant"}],
        "concurrency": config.get("concurrency", CONCURRENCY),
        "rate_limit": 1e9,
        "inputs": config["rows_file"],
    }
    if config["scored"]:
        data["scorers"] = [
            {"name": "echo", "equals": "echo: {prompt}"},
            {"name": "animal", "contains": "{_expected}", "ignore_case": True},
            {"name": "shape", "regex": r"^echo: row \d+:"},
            {"name": "known", "one_of": ["echo: a", "echo: b"]},
            {"name": "json", "json_schema": {"type": "object"}},
            {"name": "short", "python": f"{config['scorers_file']}:short"},
        ]
    return data


def run_side(config: dict[str, Any]) -> None:
    """Child: run the spec on the instant backend into `out_dir`; report wall time and peak RSS."""
    if config.get("cpu") is not None:  # before any thread starts: the run's threads inherit it
        os.sched_setaffinity(0, {config["cpu"]})
    from replicate_batch import run_batch, runner
    from tests.doubles import instant_backends

    if config.get("no_report"):  # to tell the run's own cost from the report's
        runner.try_write_report = lambda *args, **kwargs: (None, "")
    started = time.perf_counter()
    summary = run_batch(
        spec(config),
        output_dir=config["out_dir"],
        quiet=True,
        stderr=io.StringIO(),
        backends=instant_backends(latency_s=config.get("latency_ms", 0) / 1000),
    )
    wall_s = time.perf_counter() - started
    emit(child_figures(wall_s=wall_s, exit=summary.exit_code, run_dir=str(summary.run_dir)))


def rescore_side(config: dict[str, Any]) -> None:
    """Child: `rescore_run` of a finished run folder."""
    from replicate_batch import rescore_run

    started = time.perf_counter()
    summary = rescore_run(config["run_dir"])
    wall_s = time.perf_counter() - started
    emit(child_figures(wall_s=wall_s, exit=summary.exit_code, run_dir=config["run_dir"]))


def floor_side(config: dict[str, Any]) -> None:
    """Child: the floor, what importing the package (and `rescore`) costs."""
    import replicate_batch
    import replicate_batch.rescore  # noqa: F401

    emit(child_figures(wall_s=0.0, exit=0, run_dir=""))


def line(label: str, jobs: int, found: dict[str, Any]) -> list[Any]:
    """A line of the table: a child's figures."""
    return [label, jobs, found["wall_s"], found["cpu_s"], found["maxrss_mb"], found["exit"]]


def pinned(args: argparse.Namespace, side: str, round_: int) -> int | None:
    """The CPU a side's run is pinned to (`--cpu`), if any; with `--together` the sides take `--cpu`
    and the next CPU in turn, round by round, so a faster CPU favours neither."""
    if args.cpu is None:
        return None
    if not args.together:
        return args.cpu
    return args.cpu + (round_ + (side == "scored")) % 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000, help="rows, one job each")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="the spec's concurrency")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="hold each create this long (default 0: the run is all runner); with a model that takes "
        "time, as every real one does, the runner's CPU works while predictions wait",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs per side (plain and scored alternate)")
    parser.add_argument("--rescores", type=int, default=3, help="rescores of the last scored run")
    parser.add_argument(
        "--cpu",
        type=int,
        help="pin each run to this CPU (with --together, the two sides to this CPU and the next, in turn): "
        "the runner's own cost, without its threads migrating between CPUs at every GIL hand-off",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="run each round's plain and scored side at the same time, one on each core: both see the "
        "same moment's machine, so their ratio does not take in the drift from one minute to the next",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(machine_line())
    print(load_line())
    work = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    try:
        rows_file = work / "rows.csv"
        write_rows(rows_file, args.jobs)
        scorers_file = work / "bench_scorers.py"
        scorers_file.write_text(SCORERS_PY, encoding="utf-8")
        base = {"rows_file": str(rows_file), "scorers_file": str(scorers_file)}
        base["concurrency"] = args.concurrency
        base["latency_ms"] = args.latency_ms
        lines: list[list[Any]] = []
        figures: dict[str, list[dict[str, Any]]] = {"plain": [], "scored": [], "rescore": []}
        floor = run_child(__file__, "floor", {})
        lines.append(["floor (imports)", "-", "-", "-", floor["maxrss_mb"], "-"])
        last_scored = ""
        for round_ in range(args.rounds):
            order = ("plain", "scored") if round_ % 2 == 0 else ("scored", "plain")
            configs = {
                side: {
                    **base,
                    "scored": side == "scored",
                    "out_dir": str(work / f"runs-{side}-{round_}"),
                    "cpu": pinned(args, side, round_),
                }
                for side in order
            }
            if args.together:
                with ThreadPoolExecutor(2) as pool:
                    running = {side: pool.submit(run_child, __file__, "run", configs[side]) for side in order}
                    found_by_side = {side: future.result() for side, future in running.items()}
            else:
                found_by_side = {side: run_child(__file__, "run", configs[side]) for side in order}
            for side in order:
                found = found_by_side[side]
                figures[side].append(found)
                lines.append(line(f"{side} (round {round_ + 1})", args.jobs, found))
                print(table(HEADERS, lines[-1:]), flush=True)
                if side == "scored":
                    if last_scored:
                        shutil.rmtree(Path(last_scored).parent, ignore_errors=True)
                    last_scored = found["run_dir"]
                else:
                    shutil.rmtree(configs[side]["out_dir"], ignore_errors=True)
        for index in range(args.rescores):
            found = run_child(__file__, "rescore", {"run_dir": last_scored})
            figures["rescore"].append(found)
            lines.append(line(f"rescore ({index + 1})", args.jobs, found))
        print()
        print(load_line())
        print(table(HEADERS, lines))
        print()
        # The machine's speed drifts by 10-30% from one minute to the next (a shared host): the sides
        # alternate, and the best (least disturbed) round of each is compared as well as the medians;
        # with --together each round's own ratio (its two sides ran at the same time) is the measure.
        for name, pick in (("best", min), ("median", statistics.median)):
            plain_s = pick(f["wall_s"] for f in figures["plain"])
            scored_s = pick(f["wall_s"] for f in figures["scored"])
            plain_cpu = pick(f["cpu_s"] for f in figures["plain"])
            scored_cpu = pick(f["cpu_s"] for f in figures["scored"])
            print(f"scored / plain wall time ({name}): {scored_s / plain_s:.3f} (target <= 1.05)")
            print(f"scored / plain CPU time ({name}): {scored_cpu / plain_cpu:.3f}")
        pairs = [s["wall_s"] / p["wall_s"] for p, s in zip(figures["plain"], figures["scored"])]
        print("scored / plain wall time, round by round:", ", ".join(f"{r:.3f}" for r in pairs))
        if len(pairs) >= 2:
            # The rounds' ratios as a paired comparison: their geometric mean with a 95% interval (the
            # bootstrap over rounds of the log ratios, as `compare` treats paired scores).
            from replicate_batch.scoring.statistics.paired import bootstrap_interval

            logs = [math.log(r) for r in pairs]
            low, high = bootstrap_interval(logs)
            mean = math.exp(statistics.fmean(logs))
            print(
                f"scored / plain wall time, geometric mean of the rounds: {mean:.3f} "
                f"[{math.exp(low):.3f}, {math.exp(high):.3f}] (95% bootstrap over rounds; target <= 1.05)"
            )
        plain_mb = statistics.median(f["maxrss_mb"] for f in figures["plain"])
        scored_mb = statistics.median(f["maxrss_mb"] for f in figures["scored"])
        print(f"scored - plain peak RSS (medians): {scored_mb - plain_mb:+.1f} MB (target <= +20)")
        if figures["rescore"]:
            rescore_s = statistics.median(f["wall_s"] for f in figures["rescore"])
            rescore_mb = max(f["maxrss_mb"] for f in figures["rescore"])
            print(f"rescore: median {rescore_s:.1f} s (target < 20), peak RSS {rescore_mb:.1f} MB (< 300)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if not run_as_child({"run": run_side, "rescore": rescore_side, "floor": floor_side}):
        main()
