"""`report.html` of a run bigger than its cap: a bounded grid, a banner, and a summary of every result.

The runs are synthetic run folders (tests/sample_runs.py: 4 models a row, every 25th job failed by
default); the cap is passed to `write_report` small, so the runs stay small. Assertions read the page's
embedded JSON (what the grid is drawn from) and its HTML.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.reports.page import write_report
from replicate_batch.reports.records import load_run, model_stats
from replicate_batch.reports.selection import FAILED_SHARE, MAX_JOBS, survey
from tests.sample_runs import write_synthetic_run

MODELS = 4  # jobs per grid row in the synthetic runs


def embedded(html: str) -> dict[str, Any]:
    """The page's data: what its script draws the grid from."""
    start = html.index('<script type="application/json" id="data">')
    start = html.index(">", start) + 1
    data: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return data


def report_of(run_dir: Path, max_jobs: int) -> tuple[str, dict[str, Any]]:
    html = write_report(run_dir, max_jobs=max_jobs).read_text(encoding="utf-8")
    return html, embedded(html)


def banner(html: str) -> str:
    match = re.search(r"<div class='banner' id='partial' role='note'>(.*?)</div>", html)
    assert match, "no banner"
    return re.sub(r"<[^>]+>", "", match.group(1))


def rewrite_results(run_dir: Path, change: Callable[[list[list[str]]], list[list[str]]]) -> None:
    """Rewrite results.csv's data lines (the header stays)."""
    path = run_dir / "results.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *change(lines)])


def failed_row_ids(run_dir: Path) -> list[str]:
    records = load_run(run_dir).results
    return list(dict.fromkeys(r["row_id"] for r in records if r["status"] != "succeeded"))


def test_the_cap_shows_a_two_thousand_row_run_whole() -> None:
    assert MAX_JOBS >= 2000 * MODELS  # benchmarks/report_open.py's run


def test_a_run_within_the_cap_is_shown_whole_without_a_banner(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=10, write_files=False)
    html, data = report_of(run_dir, max_jobs=40)
    assert len(data["jobs"]) == 40 and len(data["rows"]) == 10
    assert "id='partial'" not in html
    assert "10 rows · 40 jobs ·" in html


def test_over_the_cap_failures_come_first_then_the_first_rows(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=60, write_files=False)  # 240 jobs, 9 failed
    assert failed_row_ids(run_dir) == ["7", "13", "19", "25", "32", "38", "44", "50", "57"]
    html, data = report_of(run_dir, max_jobs=100)
    # 9 failing rows (36 jobs, within half the cap), then the first 16 other rows fill the other 64.
    others = [str(i) for i in range(1, 19) if i not in (7, 13)]
    expected = sorted([*failed_row_ids(run_dir), *others], key=int)
    assert [row["l"] for row in data["rows"]] == expected
    assert all(len(cell) == 1 for row in data["rows"] for cell in row["c"])  # rows are shown whole
    assert len(data["jobs"]) == 100
    assert sorted(j["id"] for j in data["jobs"] if j["s"] == "failed") == sorted(
        r["job_id"] for r in load_run(run_dir).results if r["status"] == "failed"
    )
    assert banner(html) == (
        "Showing 100 of 240 results: all 9 failed or canceled jobs, with the rest of their rows and the "
        "first 16 other grid rows in input order. Every result is in results.csv beside this file. The "
        "summary above counts all 240; the failed-only filter and the sorting act on the 100 shown."
    )
    assert "only failed and canceled (9 of 9 shown)" in html
    assert "25 rows · 100 of 240 jobs shown ·" in html
    assert "<a href='results.csv'>results.csv</a>" in html


def test_the_summary_counts_every_result(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=60, write_files=False)
    html, _ = report_of(run_dir, max_jobs=100)
    total = re.search(r"<tr class='total'>(.*?)</tr>", html)
    assert total
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", total.group(1))
    stats = model_stats(load_run(run_dir))[-1]
    assert cells[2:6] == ["240", "231", "9", "0"] == [str(stats.jobs), str(stats.succeeded), "9", "0"]
    assert cells[6:] == [f"{stats.median_wall_s:.2f}", f"{stats.p90_wall_s:.2f}", f"{stats.predict_s:.2f}"]


def test_failures_beyond_their_share_give_way_to_the_first_rows(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=60, failed_every=5, write_files=False)  # 48
    html, data = report_of(run_dir, max_jobs=40)
    share_rows = int(40 * FAILED_SHARE) // MODELS  # 5 failing rows, the first in input order
    failing = failed_row_ids(run_dir)[:share_rows]
    assert failing == ["2", "3", "4", "5", "7"]
    labels = [row["l"] for row in data["rows"]]
    assert set(failing) <= set(labels) and len(data["jobs"]) == 40
    # then the first 5 other rows, failing or not (8, 9 and 10 have a failure too)
    assert sorted(set(labels) - set(failing), key=int) == ["1", "6", "8", "9", "10"]
    shown_failed = [j for j in data["jobs"] if j["s"] == "failed"]
    assert len(shown_failed) == 8
    assert f"{len(shown_failed)} of the 48 failed or canceled jobs (the first in input order)" in banner(html)
    assert "(5 of 48 shown)" not in html and f"({len(shown_failed)} of 48 shown)" in html


def test_the_choice_follows_input_order_whatever_the_order_results_came_in(tmp_path: Path) -> None:
    in_order = write_synthetic_run(tmp_path / "in-order", rows=60, write_files=False)
    shuffled = write_synthetic_run(tmp_path / "shuffled", rows=60, write_files=False)
    rewrite_results(shuffled, lambda lines: random.Random(7).sample(lines, len(lines)))
    _, expected = report_of(in_order, max_jobs=100)
    _, data = report_of(shuffled, max_jobs=100)
    assert [row["l"] for row in data["rows"]] == [row["l"] for row in expected["rows"]]
    assert sorted(j["id"] for j in data["jobs"]) == sorted(j["id"] for j in expected["jobs"])


def test_named_rows_are_chosen_in_the_order_results_name_them(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=60, write_files=False)
    rewrite_results(run_dir, lambda lines: [[*line[:5], f"row-{line[5]}", *line[6:]] for line in lines])
    html, data = report_of(run_dir, max_jobs=100)
    # results.csv names the rows in the order of their numbers: the same rows as by number.
    failing = [f"row-{i}" for i in ("7", "13", "19", "25", "32", "38", "44", "50", "57")]
    assert failed_row_ids(run_dir) == failing
    others = [f"row-{i}" for i in range(1, 19) if i not in (7, 13)]
    assert {row["l"] for row in data["rows"]} == {*failing, *others}
    assert len(data["jobs"]) == 100 and "Showing 100 of 240 results" in banner(html)


@pytest.mark.parametrize("max_jobs", [0, 3])
def test_a_cap_smaller_than_a_row_shows_no_grid_row_but_says_so(tmp_path: Path, max_jobs: int) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=3, write_files=False)
    html, data = report_of(run_dir, max_jobs=max_jobs)
    assert data["rows"] == [] and data["jobs"] == []
    assert banner(html).startswith("Showing 0 of 12 results")


def test_the_streamed_summary_equals_the_one_over_loaded_rows(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", rows=30, failed_every=7, write_files=False)
    run = load_run(run_dir)
    assert survey(run, run.results).stats == model_stats(run)
