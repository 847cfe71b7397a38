"""The rows a report of a big run shows first, found by the survey, equal those a pass of their own finds.

`survey` given the selection's cap finds the rows with failures and those with jobs that scored below 1
where one pass can (the manifest says which scorers apply, every job has every matrix value); else
`select_jobs` reads `results.csv` once more for them. Each case here is a synthetic run folder shaped
as the runner writes them (results in the order they came, so out of row order), surveyed both ways;
the candidates and the whole selection must be the same, and the cap small enough that rows are dropped.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.reports.page import write_report
from replicate_batch.reports.records import RunRecords, load_run, read_results
from replicate_batch.reports.selection import RunShape, find_candidates, select_jobs, survey
from replicate_batch.runfolder.results import COLUMNS
from tests.test_report_large import embedded

MODELS = ("alpha", "beta", "gamma")
# Which scorers apply to which model: gamma has none.
APPLIES = {"alpha": ["exact", "close"], "beta": ["exact"]}


@dataclass(frozen=True)
class Shape:
    """How a synthetic run is made."""

    rows: int = 40
    named_rows: bool = False  # row ids like `q17` instead of numbers
    numbered: bool = False  # with named_rows: but for every 9th row, whose id is its number
    named_late: bool = False  # numbers, but for every 9th row, whose results come last
    matrix: dict[str, list[Any]] = field(default_factory=dict)
    partial: bool = False  # beta takes no value for the last matrix key
    repeats: int = 1
    fail_every: int = 0  # every n-th job fails (0: none)
    low_share: float = 0.0  # of the jobs a scorer applies to, about this share scores below 1
    scores_in_manifest: bool = True
    scorers: bool = True
    seed: int = 1


def write_run(folder: Path, shape: Shape) -> Path:
    """A run folder of `shape`: results.csv, spec.yaml and manifest.json."""
    chance = random.Random(shape.seed)
    keys = list(shape.matrix)
    scorers = ["exact", "close"] if shape.scorers else []
    header = [*COLUMNS, *(f"{p}.{s}" for s in scorers for p in ("score", "note")), "input.prompt"]
    header += [f"input.{k}" for k in keys]
    records = []
    for row in range(1, shape.rows + 1):
        named = shape.named_rows and not (shape.numbered and row % 9 == 0)
        row_id = f"q{row}" if named or (shape.named_late and row % 9 == 0) else str(row)
        for model, repeat in itertools.product(MODELS, range(shape.repeats)):
            own = keys[:-1] if shape.partial and model == "beta" else keys
            for values in itertools.product(*(shape.matrix[k] for k in own)):
                index = len(records) + 1
                failed = bool(shape.fail_every) and index % shape.fail_every == 0
                record = dict.fromkeys(header, "")
                record.update(
                    {
                        "run_id": folder.name,
                        "job_id": f"{index:016x}",
                        "model": model,
                        "model_ref": f"acme/{model}",
                        "row_id": row_id,
                        "repeat": str(repeat),
                        "status": "failed" if failed else "succeeded",
                        "output": "" if failed else f"out {index}",
                        "files": "[]",
                        "attempts": "1",
                        "wall_time": f"{index % 7 / 3:.3f}",
                        "input.prompt": f"prompt {row}",
                    }
                )
                record.update(
                    {
                        f"input.{k}": json.dumps(v) if isinstance(v, list) else str(v)
                        for k, v in zip(own, values)
                    }
                )
                for name in APPLIES.get(model, []) if scorers else []:
                    low = failed or chance.random() < shape.low_share
                    record[f"score.{name}"] = (
                        "" if failed else chance.choice(["0", "0.5", ""]) if low else "1"
                    )
                    record[f"note.{name}"] = "checked" if chance.random() < 0.2 else ""
                records.append(record)
    # results come about in row order, a few places out
    order = sorted(range(len(records)), key=lambda i: i + chance.uniform(0, 25))
    if shape.named_late:
        order.sort(key=lambda i: records[i]["row_id"].startswith("q"))
    folder.mkdir(parents=True)
    with open(folder / "results.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([records[i][c] for c in header] for i in order)
    manifest: dict[str, Any] = {
        "run_id": folder.name,
        "status": "finished",
        "models": [{"name": m, "model_ref": f"acme/{m}", "version": None} for m in MODELS],
    }
    if shape.scores_in_manifest and scorers:
        manifest["scores"] = {m: {s: {"mean": 0.5} for s in names} for m, names in APPLIES.items()}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    spec = {"models": [{"ref": f"acme/{m}", "name": m} for m in MODELS], "matrix": shape.matrix}
    (folder / "spec.yaml").write_text(json.dumps(spec), encoding="utf-8")
    return folder


CASES = {
    "numeric rows, failures and low scores": (Shape(fail_every=11, low_share=0.1), 30),
    "numeric rows, more failing rows than their share": (Shape(fail_every=4, low_share=0.3), 24),
    "named rows": (Shape(named_rows=True, fail_every=9, low_share=0.15), 30),
    "names but for a few numbers": (Shape(named_rows=True, numbered=True, fail_every=13, low_share=0.2), 30),
    "a matrix and repeats": (
        Shape(
            rows=12, matrix={"seed": [3, 1, 2], "size": ["s", "l"]}, repeats=2, fail_every=17, low_share=0.1
        ),
        50,
    ),
    "a matrix, named rows": (
        Shape(
            rows=12,
            named_rows=True,
            matrix={"seed": [1, 2], "size": [[1, 2], [3]]},
            fail_every=7,
            low_share=0.2,
        ),
        40,
    ),
    "every job low": (Shape(low_share=1.0), 20),
    "no scorers, failures only": (Shape(scorers=False, fail_every=6), 30),
    "low scores, no failures": (Shape(low_share=0.2, seed=4), 30),
}
# The survey cannot know the group keys (a matrix key some job has no value for), which scorers apply
# (no `scores` in the manifest) or the grid's order (the row ids were numbers up to the first failure)
# before its end: select_jobs finds the rows itself.
FALLBACK_CASES = {
    "numbers but for a few rows that come last": (Shape(named_late=True, fail_every=13, low_share=0.2), 30),
    "a matrix key beta does not take": (
        Shape(
            rows=12, matrix={"seed": [1, 2], "size": ["s", "l"]}, partial=True, fail_every=8, low_share=0.2
        ),
        40,
    ),
    "a manifest without scores": (Shape(scores_in_manifest=False, fail_every=10, low_share=0.2), 30),
}


def surveys(tmp_path: Path, shape: Shape, max_jobs: int) -> tuple[RunRecords, RunShape, RunShape]:
    """A run written in `shape`, and its survey told the cap `max_jobs` and its survey without it."""
    run_dir = write_run(tmp_path / "run", shape)
    run = load_run(run_dir, with_results=False)
    return run, survey(run, read_results(run_dir), max_jobs), survey(run, read_results(run_dir))


@pytest.mark.parametrize(("shape", "max_jobs"), CASES.values(), ids=CASES.keys())
def test_the_survey_finds_the_rows_a_pass_of_their_own_finds(
    tmp_path: Path, shape: Shape, max_jobs: int
) -> None:
    run, fused, alone = surveys(tmp_path, shape, max_jobs)
    assert alone.candidates is None and fused.candidates is not None
    assert replace(fused, candidates=None) == alone  # the rest of the shape is the same
    assert find_candidates(run, alone, max_jobs) == fused.candidates
    assert fused.candidates.failing or fused.candidates.low
    selected = select_jobs(run, fused, max_jobs)
    assert selected == select_jobs(run, alone, max_jobs)
    assert 0 < len(selected.records) <= max_jobs < selected.jobs
    assert selected.failed_shown + selected.below_one_shown > 0
    # another cap than the survey's: its own pass, the same choice as without the survey's rows
    assert select_jobs(run, fused, max_jobs * 2) == select_jobs(run, alone, max_jobs * 2)


@pytest.mark.parametrize(("shape", "max_jobs"), FALLBACK_CASES.values(), ids=FALLBACK_CASES.keys())
def test_without_what_it_needs_the_survey_leaves_the_rows_to_the_selection(
    tmp_path: Path, shape: Shape, max_jobs: int
) -> None:
    run, shape_seen, alone = surveys(tmp_path, shape, max_jobs)
    assert shape_seen.candidates is None
    assert shape_seen == alone
    selected = select_jobs(run, shape_seen, max_jobs)
    assert selected.failed_shown and selected.below_one_shown
    assert 0 < len(selected.records) <= max_jobs < selected.jobs


def test_the_survey_keeps_the_first_named_rows_in_the_order_results_name_them(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", Shape(named_rows=True, fail_every=5))
    run = load_run(run_dir, with_results=False)
    shape = survey(run, read_results(run_dir), 30)
    assert not shape.numeric_rows and shape.candidates is not None
    failing_rows = list(dict.fromkeys(r["row_id"] for r in read_results(run_dir) if r["status"] == "failed"))
    chosen = {row_id for row_id, _, _ in shape.candidates.failing}
    # 15 jobs' worth of failing rows, each counted by its failed jobs: the first 15 rows to fail
    assert chosen == set(failing_rows[:15]) and len(failing_rows) > 15


def test_a_report_shows_the_rows_the_survey_found(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", Shape(fail_every=11, low_share=0.1))
    run = load_run(run_dir, with_results=False)
    shape = survey(run, read_results(run_dir), 30)
    expected = select_jobs(run, shape, 30)
    data = embedded(write_report(run_dir, max_jobs=30).read_text(encoding="utf-8"))
    assert [job["id"] for job in data["jobs"]] == [r["job_id"] for r in expected.records]
