"""report.html of a scored run: the "only jobs that scored below 1" filter, sorting by score, badges.

The runs are real runs of the runner on the in-process double (tests/doubles.py: `echo: <prompt>`, a
prompt with `fail` fails), with a python scorer `grade` that gives each model the score its row names
(`_alpha`, `_beta`: a number, `none` for unscored, `raise` for an error) and applies to alpha and beta
only, and `echoed` (contains) that applies to gamma only; delta has no scorer. The page is opened in a
real headless Chromium (Debian's `chromium`, as tests/test_report.py does) from file://.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from replicate_batch.reports.page import REPORT_NAME, write_report
from tests.browser import opened_page
from tests.emulated import emulated
from tests.scored_runs import run_scored
from tests.test_report_large import banner, embedded

NOTE = "note <b id=injected-note>n</b>"
ERROR = "<b id=injected-error>bad</b>"
GRADES = f"""
def grade(row, model):
    given = row["_" + model]
    if given == "none":
        return None
    if given == "raise":
        raise ValueError({ERROR!r})
    return (float(given), {NOTE!r})
"""
# (alpha's grade, beta's grade) per row; row 6 fails for every model.
GRADED = [
    ("1", "1"),
    ("0.5", "1"),
    ("0", "1"),
    ("none", "1"),
    ("raise", "1"),
    ("1", "1"),
    ("1", "0"),
    ("1", "1"),
]
FAILING_ROW = "6"
# The jobs that pull a mean down: alpha's 0.5, 0, unscored (no note), unscored (an error) and failed;
# beta's failed and 0; gamma's failed. Delta's failed job is no scorer's.
BELOW_ONE = {("alpha", r) for r in "23456"} | {("beta", "6"), ("beta", "7"), ("gamma", "6")}
FAILED = {(m, FAILING_ROW) for m in ("alpha", "beta", "gamma", "delta")}
HOSTILE_SCORER = "<img src=x onerror=window.__pwned=1>"


def graded_spec(rows: list[tuple[str, str]], failing: set[int], models: list[str]) -> dict[str, Any]:
    inputs = [
        {"prompt": "please fail" if n in failing else f"p{n}", "_alpha": a, "_beta": b}
        for n, (a, b) in enumerate(rows, start=1)
    ]
    graded = [m for m in ("alpha", "beta") if f"acme/{m}" in models]
    scorers: list[dict[str, Any]] = [{"python": "grades.py:grade", "name": "grade", "models": graded}]
    if "acme/gamma" in models:
        scorers.append({"name": "echoed", "contains": "echo", "models": ["gamma"]})
    return {"name": "graded", "models": models, "inputs": inputs, "scorers": scorers}


def graded_run(base: Path, rows: list[tuple[str, str]], failing: set[int], models: list[str]) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "grades.py").write_text(GRADES, encoding="utf-8")
    return run_scored(graded_spec(rows, failing, models), base, base / "runs")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = ["acme/alpha", "acme/beta", "acme/gamma", "acme/delta"]
    return graded_run(tmp_path_factory.mktemp("graded"), GRADED, {int(FAILING_ROW)}, models)


@pytest.fixture(scope="module")
def jobs(run_dir: Path) -> dict[str, tuple[str, str]]:
    """(model, row id) by job id."""
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        return {r["job_id"]: (r["model"], r["row_id"]) for r in csv.DictReader(handle)}


def open_report(browser: Browser, run_dir: Path) -> Iterator[tuple[Page, list[str]]]:
    yield from opened_page(browser, run_dir / REPORT_NAME, width=1600, height=3000, drawn=True)


@pytest.fixture
def page(browser: Browser, run_dir: Path) -> Iterator[Page]:
    for opened, requests in open_report(browser, run_dir):
        yield opened
        assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests


def shown_jobs(page: Page, jobs: dict[str, tuple[str, str]]) -> set[tuple[str, str]]:
    ids = page.locator(".job:visible").evaluate_all("js => js.map(j => j.dataset.job)")
    return {jobs[i] for i in ids}


def shown_rows(page: Page) -> list[str]:
    return page.locator("#rows > .gridrow:visible .rowid").all_text_contents()


def sort_by(page: Page, label: str) -> list[str]:
    page.get_by_label("sort").select_option(label=label)
    page.wait_for_selector("body[data-rendered=complete]")
    return page.locator("#rows .rowid").all_text_contents()


def test_the_filter_shows_exactly_the_jobs_that_scored_below_1(
    page: Page, jobs: dict[str, tuple[str, str]]
) -> None:
    low = page.get_by_label("only jobs that scored below 1")
    failed = page.get_by_label("only failed and canceled")
    assert [t.strip() for t in page.locator(".controls label").all_inner_texts()[:2]] == [
        "only failed and canceled (4)",
        f"only jobs that scored below 1 ({len(BELOW_ONE)})",
    ]
    assert len(shown_jobs(page, jobs)) == len(jobs) == 32
    low.check()
    assert shown_jobs(page, jobs) == BELOW_ONE
    assert shown_rows(page) == ["2", "3", "4", "5", "6", "7"]  # rows 1 and 8 scored 1 throughout
    # Both checked: the jobs of either filter, so delta's failure (no scorer's) shows too.
    failed.check()
    assert shown_jobs(page, jobs) == BELOW_ONE | FAILED
    assert shown_rows(page) == ["2", "3", "4", "5", "6", "7"]
    low.uncheck()
    assert shown_jobs(page, jobs) == FAILED and shown_rows(page) == [FAILING_ROW]
    failed.uncheck()
    assert len(shown_jobs(page, jobs)) == 32


def test_sorting_by_a_scorer_uses_each_rows_mean_unscored_counting_0(page: Page) -> None:
    options = page.locator("#sort option").all_inner_texts()
    assert [o for o in options if o.startswith("score")] == [  # echoed applies to one model: none per model
        "score grade, lowest first",
        "score grade, highest first",
        "score grade of alpha, lowest first",
        "score grade of beta, lowest first",
        "score echoed, lowest first",
        "score echoed, highest first",
    ]
    # Means of alpha's and beta's grades: 1, .75, .5, .5 (unscored), .5 (error), 0 (failed), .5, 1;
    # ties in input order.
    assert sort_by(page, "score grade, lowest first") == ["6", "3", "4", "5", "7", "2", "1", "8"]
    assert sort_by(page, "score grade, highest first") == ["1", "8", "2", "3", "4", "5", "7", "6"]
    assert sort_by(page, "score grade of alpha, lowest first") == ["3", "4", "5", "6", "2", "1", "7", "8"]
    assert sort_by(page, "score grade of beta, lowest first") == ["6", "7", "1", "2", "3", "4", "5", "8"]
    assert sort_by(page, "score echoed, lowest first") == ["6", "1", "2", "3", "4", "5", "7", "8"]
    # The filter acts on the sorted grid.
    page.get_by_label("only jobs that scored below 1").check()
    assert shown_rows(page) == ["6", "2", "3", "4", "5", "7"]
    assert sort_by(page, "input order") == [str(n) for n in range(1, 9)]


def test_a_badge_for_every_scorer_of_the_model_unscored_ones_too(page: Page, run_dir: Path) -> None:
    def badges(model: str, row: str) -> list[tuple[str, str | None]]:
        job_id = next(k for k, v in job_ids.items() if v == (model, row))
        return page.locator(f".job[data-job='{job_id}'] .badge").evaluate_all(
            "bs => bs.map(b => [b.textContent, b.getAttribute('title')])"
        )

    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        job_ids = {r["job_id"]: (r["model"], r["row_id"]) for r in csv.DictReader(handle)}
    unscored = "unscored: counts 0 in the mean"
    assert badges("alpha", "2") == [["grade 0.5", NOTE]]
    assert badges("alpha", "4") == [["grade –", unscored]]  # None, without a note
    assert badges("alpha", "5") == [["grade –", f"ValueError: {ERROR}"]]
    assert badges("alpha", FAILING_ROW) == [["grade –", unscored]]
    assert badges("gamma", "1") == [["echoed 1", None]]
    assert badges("delta", "1") == []
    assert page.locator("#injected-note, #injected-error").count() == 0


def test_html_in_scorer_names_and_notes_stays_text(browser: Browser, run_dir: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile"
    shutil.copytree(run_dir, hostile)
    results = hostile / "results.csv"
    with open(results, encoding="utf-8", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    header = [re.sub(r"^(score|note)\.grade$", rf"\1.{HOSTILE_SCORER}", c) for c in header]
    with open(results, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *lines])
    manifest = json.loads((hostile / "manifest.json").read_text(encoding="utf-8"))
    manifest["scores"] = {
        model: {HOSTILE_SCORER if name == "grade" else name: value for name, value in scorers.items()}
        for model, scorers in manifest["scores"].items()
    }
    (hostile / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_report(hostile)
    for page, requests in open_report(browser, hostile):
        assert HOSTILE_SCORER in page.locator("table.summary thead").inner_text()
        assert f"score {HOSTILE_SCORER}, lowest first" in page.locator("#sort option").all_inner_texts()
        assert page.locator(".badge").filter(has_text=f"{HOSTILE_SCORER} 0.5").count() == 1
        page.get_by_label("only jobs that scored below 1").check()
        assert page.locator(".job:visible").count() == len(BELOW_ONE)
        sort_by(page, f"score {HOSTILE_SCORER}, lowest first")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("#injected-note, #injected-error, img[src=x]").count() == 0
        assert all(url.startswith(("file://", "data:")) for url in requests), requests


def test_over_the_cap_rows_that_scored_below_1_come_after_failing_ones(tmp_path: Path) -> None:
    # 30 rows x (alpha, beta): alpha scores 0 in rows 20-25, row 28 fails for both.
    rows = [("0" if 20 <= n <= 25 else "1", "1") for n in range(1, 31)]
    run_dir = graded_run(tmp_path, rows, {28}, ["acme/alpha", "acme/beta"])
    html = write_report(run_dir, max_jobs=20).read_text(encoding="utf-8")
    data = embedded(html)
    # Half the cap (10 jobs): the failing row (2), then the first low rows whole (4 rows, 8 jobs);
    # then the first 5 other rows.
    assert [row["l"] for row in data["rows"]] == ["1", "2", "3", "4", "5", "20", "21", "22", "23", "28"]
    assert banner(html) == (
        "Showing 20 of 60 results: all 2 failed or canceled jobs, with the rest of their rows, 6 of the 8 "
        "jobs that scored below 1 (those in rows with failures, then the first in input order), with the "
        "rest of their rows and the first 5 other grid rows in input order. Every result is in results.csv "
        "beside this file. The summary above counts all 60; the filters and the sorting act on the 20 shown."
    )
    assert "only jobs that scored below 1 (6 of 8 shown)</label>" in html
    assert "only failed and canceled (2 of 2 shown)</label>" in html


def test_without_the_manifests_scores_a_scorer_applies_where_a_job_has_its_score(
    run_dir: Path, tmp_path: Path
) -> None:
    with_scores = embedded((run_dir / REPORT_NAME).read_text(encoding="utf-8"))
    assert with_scores["scorers"] == ["grade", "echoed"]
    assert with_scores["applies"] == [[0], [0], [1], []]  # alpha, beta, gamma, delta
    crashed = tmp_path / "crashed"  # stopped before the manifest had its scores
    shutil.copytree(run_dir, crashed)
    manifest = json.loads((crashed / "manifest.json").read_text(encoding="utf-8"))
    (crashed / "manifest.json").write_text(json.dumps({**manifest, "scores": None}), encoding="utf-8")
    html = write_report(crashed).read_text(encoding="utf-8")
    assert embedded(html)["applies"] == with_scores["applies"]
    assert f"only jobs that scored below 1 ({len(BELOW_ONE)})" in html


def test_a_run_without_scorers_has_no_score_filter_or_sorting(tmp_path: Path) -> None:
    run_dir = graded_run(tmp_path, [("1", "1")], set(), ["acme/alpha"])
    spec = graded_spec([("1", "1")], set(), ["acme/alpha"])
    del spec["scorers"]
    bare = run_scored(spec, tmp_path, tmp_path / "bare")
    assert "id='low-only'" in (run_dir / REPORT_NAME).read_text(encoding="utf-8")
    html = (bare / REPORT_NAME).read_text(encoding="utf-8")
    assert "id='low-only'" not in html and "only jobs that scored below 1" not in html
    assert "value='low:" not in html and embedded(html)["scorers"] == []


SEEDED = """
def seeded(row, input, model):
    return float(row["_e"] if model == "echo" else row["_s" + str(input["seed"])])
"""


def test_several_jobs_in_a_cell_sort_by_their_mean(browser: Browser, tmp_path: Path) -> None:
    # On the emulator, acme/mixed takes a seed and acme/echo does not: mixed's cell holds both seeds.
    # (mixed seed 1, mixed seed 2, echo) per row; a cell's minimum or first job would order differently.
    grades = [("0", "1", "0"), ("0.25", "0.25", "1"), ("1", "1", "0.5"), ("0.75", "0", "1")]
    (tmp_path / "seeded.py").write_text(SEEDED, encoding="utf-8")
    spec = {
        "name": "seeded",
        "models": ["acme/mixed", "acme/echo"],
        "inputs": [{"prompt": f"p{n}", "_s1": a, "_s2": b, "_e": e} for n, (a, b, e) in enumerate(grades)],
        "matrix": {"seed": [1, 2]},
        "scorers": [{"python": "seeded.py:seeded", "name": "seeded"}],
    }
    with emulated():
        run_dir = run_scored(spec, tmp_path, tmp_path / "runs", double=False)
    for page, _ in open_report(browser, run_dir):
        assert page.locator("#rows .gridrow").count() == 4
        assert page.locator("#rows .gridrow > [role=cell]:nth-child(2) .job").count() == 8  # mixed
        # mixed's means: .5, .25, 1, .375; with echo's: 1/3, .5, 5/6, 7/12
        assert sort_by(page, "score seeded of mixed, lowest first") == ["2", "4", "1", "3"]
        assert sort_by(page, "score seeded, lowest first") == ["1", "2", "4", "3"]
        assert sort_by(page, "score seeded, highest first") == ["3", "4", "2", "1"]
        page.get_by_label("only jobs that scored below 1").check()
        assert page.locator(".job:visible").count() == 7  # all but 1s: mixed's 0.75 is below 1 too
        assert "(7)" in page.get_by_text("only jobs that scored below 1").inner_text()
