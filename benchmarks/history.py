"""`history` over a year of nightly runs and `compare` of two big runs, on scored run folders.

    .venv/bin/python benchmarks/history.py              # 365 runs x 1,000 jobs; two 100,000-job runs
    .venv/bin/python benchmarks/history.py --quick      # 30 runs x 1,000 jobs; two 10,000-job runs
    .venv/bin/python benchmarks/history.py --decimals 15  # compare: scores with every difference distinct

Issue 15 asks for `history` over 365 runs of 1,000 jobs each in under 5 s and 300 MB, and `compare`
of two 100,000-job runs in under 10 s. Each is measured in a fresh process (`harness.run_child`): the
library calls the command makes (`load_history` + its text + history.html; `load_run` x 2 +
`compare_runs` + its text + compare.html), wall time and peak RSS; a process that only imports the
package is the floor.

The run folders are written here, shaped as a scored run writes them (`ResultColumns`): the contract columns,
`score.exact` (0/1, like `equals`) and `score.quality` (a number in [0, 1], like a python scorer) with
their `note.` columns, `input.prompt`, `_category` (5 values, the spec's `group_by`); the manifest's
`scores` and `scores_by` computed by the package's own `ScoreAccumulator` (Wilson for `exact`, the
bootstrap over rows for `quality`). Two models share the rows. Every 50th job fails. From one run to
the next each job's `exact` flips with probability 0.1 around a success rate that drifts over the year
(so some steps are significant and some are not), `quality` moves by a small random step (written with
3 decimals, as a score computed from a few counts would be; `--decimals 15` for the worst case of the
permutation test and the bootstrap, nearly every difference distinct), and about 5% of the outputs
change. Seeds are fixed: the same folders every time.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness import child_figures, emit, load_line, machine_line, run_as_child, run_child, table

from replicate_batch.runfolder.manifest import Manifest, ManifestModel, write_manifest
from replicate_batch.runfolder.results import ResultColumns
from replicate_batch.scoring import RowIndex, ScoreAccumulator

MODELS = ("writer", "judge")
CATEGORIES = ("animals", "food", "places", "tools", "weather")
SCORERS = ("exact", "quality")
HEADER = ResultColumns(scores=SCORERS, inputs=("prompt",), metadata=("_category",)).header()


def _job_id(model: str, row: int) -> str:
    return hashlib.sha256(f"{model}|{row}".encode()).hexdigest()[:16]


class Sweep:
    """The jobs of one spec and how their scores drift from run to run."""

    def __init__(self, rows_per_model: int, seed: int = 0, decimals: int = 3) -> None:
        self.rows = rows_per_model
        self.decimals = decimals  # `quality` is written with this many decimals
        self.random = random.Random(seed)
        self.exact = {(m, r): self.random.random() < 0.7 for m in MODELS for r in range(rows_per_model)}
        self.quality = {(m, r): self.random.random() for m in MODELS for r in range(rows_per_model)}
        self.version = {(m, r): 0 for m in MODELS for r in range(rows_per_model)}

    def step(self, day: int) -> None:
        """The next run's scores: flips around a drifting success rate, small moves, some new outputs."""
        rate = 0.7 + 0.15 * ((day // 30) % 3 - 1)  # months that are better, as good, or worse
        rnd = self.random
        for key in self.exact:
            if rnd.random() < 0.1:
                self.exact[key] = rnd.random() < rate
            self.quality[key] = min(1.0, max(0.0, self.quality[key] + rnd.uniform(-0.05, 0.05)))
            if rnd.random() < 0.05:
                self.version[key] += 1

    def write(self, folder: Path, name: str, started_at: str, failed_every: int = 50) -> Path:
        """One run folder of the sweep's current state."""
        folder.mkdir(parents=True)
        run_id = folder.name
        index = RowIndex()
        overall = {(m, s): ScoreAccumulator(binary=s == "exact", rows=index) for m in MODELS for s in SCORERS}
        grouped: dict[tuple[str, str, str], ScoreAccumulator] = {}
        counts = {"succeeded": 0, "failed": 0}
        with open(folder / "results.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            job = 0
            for row in range(self.rows):
                category = CATEGORIES[row % len(CATEGORIES)]
                for model in MODELS:
                    job += 1
                    failed = (job + len(run_id)) % failed_every == 0
                    exact = int(self.exact[(model, row)])
                    quality = round(self.quality[(model, row)], self.decimals)
                    scores = {"exact": None if failed else exact, "quality": None if failed else quality}
                    counts["failed" if failed else "succeeded"] += 1
                    writer.writerow(
                        [
                            run_id,
                            _job_id(model, row),
                            model,
                            f"acme/{model}",
                            "",
                            f"r{row}",
                            0,
                            "failed" if failed else "succeeded",
                            ""
                            if failed
                            else f"answer {row} v{self.version[(model, row)]}: a {category} word",
                            "[]",
                            "CUDA out of memory" if failed else "",
                            1,
                            f"p{job}",
                            started_at,
                            started_at,
                            0.5,
                            0.7,
                            "" if scores["exact"] is None else scores["exact"],
                            "",
                            "" if scores["quality"] is None else repr(scores["quality"]),
                            "",
                            f"question {row}",
                            category,
                        ]
                    )
                    for scorer, value in scores.items():
                        overall[(model, scorer)].add(row, value)
                        key = (category, model, scorer)
                        if key not in grouped:
                            grouped[key] = ScoreAccumulator(binary=scorer == "exact", rows=index)
                        grouped[key].add(row, value)
        scores_json: dict[str, Any] = {}
        for (model, scorer), acc in overall.items():
            scores_json.setdefault(model, {})[scorer] = asdict(acc.result())
        by: dict[str, Any] = {}
        for (category, model, scorer), acc in grouped.items():
            by.setdefault(category, {}).setdefault(model, {})[scorer] = asdict(acc.result())
        manifest = Manifest(
            run_id=run_id,
            started_at=started_at,
            name=name,
            status="finished",
            jobs=self.rows * len(MODELS),
            models=[ManifestModel(m, f"acme/{m}") for m in MODELS],
            finished_at=started_at,
            counts=counts,
            extra={"scores": scores_json, "scores_by": {"_category": by}},
        )
        write_manifest(folder, manifest)
        spec = {
            "name": name,
            "models": [{"ref": f"acme/{m}", "name": m} for m in MODELS],
            "inputs": "rows.csv",
            "scorers": [{"name": "exact", "equals": "{_expected}"}, {"name": "quality", "python": "s.py:q"}],
            "group_by": ["_category"],
        }
        (folder / "spec.yaml").write_text(json.dumps(spec), encoding="utf-8")
        return folder


def write_year(root: Path, runs: int, jobs: int) -> None:
    """`runs` nightly runs of `jobs` jobs each, one a day from 2026-01-01 02:00 UTC."""
    sweep = Sweep(jobs // len(MODELS))
    for day in range(runs):
        stamp = time.strftime("%Y%m%d-020000", time.gmtime(1767232800 + day * 86400))
        started = time.strftime("%Y-%m-%dT02:00:00.000Z", time.gmtime(1767232800 + day * 86400))
        sweep.write(root / f"nightly-{stamp}", "nightly", started)
        sweep.step(day)


def write_pair(root: Path, jobs: int, decimals: int = 3) -> tuple[Path, Path]:
    """Two consecutive runs of `jobs` jobs each."""
    sweep = Sweep(jobs // len(MODELS), seed=1, decimals=decimals)
    a = sweep.write(root / "big-20260101-020000", "big", "2026-01-01T02:00:00.000Z")
    sweep.step(0)  # a worse month (success rate 0.55): some means drop significantly
    return a, sweep.write(root / "big-20260102-020000", "big", "2026-01-02T02:00:00.000Z")


def child_write(config: dict[str, Any]) -> None:
    """Child: write the run folders (in a child: a parent's peak RSS would count in every child's)."""
    base = Path(config["base"])
    started = time.perf_counter()
    write_year(base / "year", config["runs"], 1_000)
    a, b = write_pair(base / "pair", config["big"], config["decimals"])
    emit(child_figures(seconds=time.perf_counter() - started, a=str(a), b=str(b)))


def child_floor(config: dict[str, Any]) -> None:
    """Child: import what the commands import, do nothing."""
    import replicate_batch.cli  # noqa: F401

    emit(child_figures(seconds=0.0))


def child_history(config: dict[str, Any]) -> None:
    """Child: what `history DIR` does."""
    from replicate_batch.reports.history import load_history
    from replicate_batch.reports.history_page import write_history
    from replicate_batch.reports.history_text import history_text

    root = Path(config["root"])
    start = time.perf_counter()
    histories = load_history(root)
    text = history_text(histories)
    page = write_history(histories, root)
    seconds = time.perf_counter() - start
    emit(child_figures(seconds=seconds, text_lines=text.count("\n") + 1, page_mb=page.stat().st_size / 1e6))


def child_compare(config: dict[str, Any]) -> None:
    """Child: what `compare RUN_A RUN_B` does."""
    from replicate_batch.reports.compare import compare_runs, comparison_text
    from replicate_batch.reports.compare_page import write_comparison
    from replicate_batch.reports.records import load_run

    start = time.perf_counter()
    comparison = compare_runs(load_run(config["a"]), load_run(config["b"]))
    text = comparison_text(comparison)
    page = write_comparison(comparison)
    seconds = time.perf_counter() - start
    worse = [f"{p.model}/{p.scorer}" for p in comparison.scores.worse]
    emit(
        child_figures(
            seconds=seconds,
            text_lines=text.count("\n") + 1,
            page_mb=page.stat().st_size / 1e6,
            flips=len(comparison.scores.flips),
            changed=len(comparison.changed),
            worse=worse,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 runs and 10,000-job runs")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument(
        "--decimals",
        type=int,
        default=3,
        help="decimals of `quality` in the compared runs (15: nearly every difference distinct)",
    )
    args = parser.parse_args()
    runs, big = (30, 10_000) if args.quick else (365, 100_000)
    print(machine_line())
    print(load_line())
    base = Path(tempfile.mkdtemp(prefix="history-bench-"))
    try:
        config = {"base": str(base), "runs": runs, "big": big, "decimals": args.decimals}
        written = run_child(__file__, "write", config)
        a, b = written["a"], written["b"]
        print(f"wrote the run folders in {written['seconds']:.1f} s")
        rows = []
        floor = run_child(__file__, "floor", {})
        rows.append(["import only (floor)", "", "", f"{floor['maxrss_mb']:.1f}", ""])
        for _ in range(args.repeats):
            h = run_child(__file__, "history", {"root": str(base / "year")})
            what = f"history {runs} runs x 1,000 jobs"
            rows.append(
                [
                    what,
                    f"{h['seconds']:.2f}",
                    f"{h['cpu_s']:.2f}",
                    f"{h['maxrss_mb']:.1f}",
                    f"{h['page_mb']:.2f}",
                ]
            )
        for _ in range(args.repeats):
            c = run_child(__file__, "compare", {"a": a, "b": b})
            what = f"compare 2 x {big:,} jobs"
            rows.append(
                [
                    what,
                    f"{c['seconds']:.2f}",
                    f"{c['cpu_s']:.2f}",
                    f"{c['maxrss_mb']:.1f}",
                    f"{c['page_mb']:.2f}",
                ]
            )
        print(table(["measured", "wall s", "process cpu s", "peak RSS MB", "page MB"], rows))
        worse = ", ".join(c["worse"]) or "none"
        print(f"compare: {c['flips']:,} score flips, {c['changed']:,} outputs changed, worse: {worse}")
        print(load_line())
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sides = {"write": child_write, "floor": child_floor, "history": child_history, "compare": child_compare}
    if not run_as_child(sides):
        main()
