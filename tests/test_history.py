"""`history DIR`: runs of two specs in one folder, by spec and start time, changes marked as compare would."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.cli import main
from replicate_batch.reports.compare import compare_runs
from replicate_batch.reports.history import load_history, step_changes, surely_unchanged
from replicate_batch.reports.records import load_run
from replicate_batch.reports.run_scores import JobScores
from replicate_batch.scoring.statistics.paired import paired_p
from tests.scored_runs import run_scored

HIT = {"name": "hit", "contains": "yes"}


def nightly(passing: int, name: str = "nightly", rows: int = 12) -> dict[str, Any]:
    """A spec of models `m` and `n` over `rows` rows, the first `passing` of them answered `yes`."""
    inputs = [
        {
            "id": f"r{i}",
            "prompt": "yes" if i < passing else "no",
            "_half": "first" if i < rows // 2 else "second",
        }
        for i in range(rows)
    ]
    return {
        "name": name,
        "models": ["double/m", "double/n"],
        "inputs": inputs,
        "scorers": [HIT],
        "group_by": ["_half"],
    }


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """runs/: four nightly runs (10, 10, 2 and 12 of 12 passing) whose folders sort against their start
    times, and two runs of another spec in a subfolder."""
    base = tmp_path_factory.mktemp("history")
    runs = base / "runs"
    for index, passing in enumerate((10, 10, 2, 12)):
        run_scored(nightly(passing), base, runs / f"{9 - index}-nightly")  # path order: newest first
    for passing in (1, 2):
        run_scored(nightly(passing, name="other", rows=4), base, runs / "other" / "deep")
    yield runs


def history(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["history", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def block(out: str, title: str) -> list[list[str]]:
    """The rows of the table under `title` (cells split on two spaces or more)."""
    match = re.search(rf"^{re.escape(title)}.*\n((?:  .*\n)+)", out, re.MULTILINE)
    assert match, out
    return [re.split(r"\s{2,}", line.strip()) for line in match.group(1).splitlines()]


def test_runs_of_two_specs_are_grouped_and_ordered_by_start_time(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = history(capsys, root)
    assert (code, err) == (0, "")
    histories = load_history(root)
    assert [h.name for h in histories] == ["nightly", "other"]
    nightly_runs = histories[0].runs
    starts = [run.started_at for run in nightly_runs]
    assert starts == sorted(starts) and len(starts) == 4
    assert [run.path.parent.name for run in nightly_runs] == [
        "9-nightly",
        "8-nightly",
        "7-nightly",
        "6-nightly",
    ]
    assert out.startswith("nightly: 4 runs, oldest first\n")
    assert "\nother: 2 runs, oldest first\n" in out
    runs_table = block(out, "nightly: 4 runs")
    assert runs_table[0] == ["run", "started", "status", "jobs", "failed"]
    assert [row[0] for row in runs_table[1:]] == [run.run_id for run in nightly_runs]
    assert out.rstrip().endswith(f"history page: {root / 'history.html'}")
    assert (root / "history.html").is_file()


def test_each_run_shows_its_means_and_the_significant_changes(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = history(capsys, root, "--name", "nightly")
    rows = block(out, "hit: mean [95% interval]")
    assert rows[0] == ["run", "m", "n"]
    # 10/12, 10/12 (no change), 2/12 (8 flips to worse: p = 2/2^8, x2 for Holm), 12/12 (10 flips to better)
    assert [row[1] for row in rows[1:]] == [
        "0.83 [0.55, 0.95]",
        "0.83 [0.55, 0.95]",
        "0.17 [0.05, 0.45] worse",
        "1.00 [0.76, 1.00] better",
    ]
    assert [row[1:] for row in rows[1:]] == [[row[1], row[1]] for row in rows[1:]]  # m and n alike
    groups = block(out, "hit by _half:")
    assert groups[0] == ["run", "_half", "m", "n"]
    assert [row[1:3] for row in groups[1:3]] == [
        ["first", "1.00 [0.61, 1.00]"],
        ["second", "0.67 [0.30, 0.90]"],
    ]
    assert "other" not in out.split("history page:")[0]


def test_a_run_with_jobs_that_have_no_score_says_how_many_were_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = nightly(2, name="partial", rows=4)
    spec["inputs"][3]["prompt"] = "fail"  # failed: no score, 0 in the mean
    run_scored(spec, tmp_path, tmp_path / "runs")
    _, out, _ = history(capsys, tmp_path / "runs")
    rows = block(out, "hit: mean [95% interval]")
    assert rows[1][1:] == ["0.50 [0.15, 0.85] (3 of 4 jobs scored)"] * 2  # Wilson's for 2 of 4
    page = (tmp_path / "runs" / "history.html").read_text(encoding="utf-8")
    assert "0.50 [0.15, 0.85]<span class='muted'> (3 of 4 jobs scored)</span>" in page


def test_the_marks_are_what_compare_says_of_each_step(root: Path) -> None:
    runs = load_history(root, "nightly")[0].runs
    for before, after in itertools.pairwise(runs):
        comparison = compare_runs(load_run(before.path), load_run(after.path))
        verdicts = {(p.model, p.scorer): p.verdict for p in comparison.scores.pairs if p.verdict}
        assert after.changes == verdicts
    assert [len(run.changes) for run in runs] == [0, 0, 2, 2]


def test_output_elsewhere_and_usage_errors(
    root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "pages" / "h.html"
    code, out, _ = history(capsys, root, "--name", "other", "--output", target)
    assert code == 0 and out.rstrip().endswith(f"history page: {target}") and target.is_file()
    assert out.startswith("other: 2 runs, oldest first\n")
    code, out, err = history(capsys, root, "--name", "weekly")
    assert (code, out) == (2, "")
    assert err == f"error: no runs of the spec 'weekly' below {root}; specs found: nightly, other\n"
    (tmp_path / "empty").mkdir()
    code, out, err = history(capsys, tmp_path / "empty")
    assert (code, out, err) == (2, "", f"error: no run folders below {tmp_path / 'empty'}\n")
    code, _, err = history(capsys, tmp_path / "missing")
    assert (code, err) == (2, f"error: {tmp_path / 'missing'} is not a folder\n")


def test_steps_the_normal_screen_skips_are_steps_compare_finds_unchanged() -> None:
    rng = random.Random(7)
    screened = 0
    for trial in range(40):
        shift = (0.0, 0.0, 0.004, 0.008, 0.02)[trial % 5]
        a = [round(rng.random(), 3) for _ in range(500)]
        b = [round(min(1.0, max(0.0, x + rng.uniform(-0.05, 0.05) + shift)), 3) for x in a]
        before = JobScores(pairs={("m", "q"): {f"j{i:03}": x for i, x in enumerate(a)}})
        after = JobScores(pairs={("m", "q"): {f"j{i:03}": y for i, y in enumerate(b)}})
        p, test = paired_p(a, b)  # what compare computes for this one pair (Holm over one: p itself)
        assert test == "permutation"
        expected = {("m", "q"): "better" if sum(b) > sum(a) else "worse"} if p < 0.05 else {}
        assert step_changes(before, after) == expected, (trial, p)
        if surely_unchanged(a, b):
            screened += 1
            assert p > 0.08, (trial, p)  # the sampled p too is far from significant
    assert 5 < screened < 40  # the screen was used, and not for everything
