"""`compare` on scored runs: means over the jobs both runs have, paired tests, Holm, flips, exit codes.

The runs are real runs of a spec with `scorers:` (the runner on the in-process double backend, which
answers `echo: <prompt>` and fails a prompt containing `fail`), scored by the run itself.
The expected p-values are worked out here from the rows, independently of the code under test.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.cli import main
from replicate_batch.reports.compare import compare_runs
from replicate_batch.reports.records import load_run
from replicate_batch.scoring.statistics.paired import newcombe_interval
from tests.scored_runs import run_scored

HIT = {"name": "hit", "contains": "yes"}
OK = {"name": "ok", "contains": "ok"}


def spec(
    prompts: dict[str, str],
    scorers: list[Any],
    metadata: dict[str, dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A spec of one model `m` over these rows (id -> prompt), with each row's `_` fields from `metadata`."""
    rows = [
        {"id": row_id, "prompt": prompt, **(metadata or {}).get(row_id, {})}
        for row_id, prompt in prompts.items()
    ]
    return {"name": "sweep", "models": ["double/m"], "inputs": rows, "scorers": scorers, **extra}


def runs(tmp_path: Path, spec_a: dict[str, Any], spec_b: dict[str, Any]) -> tuple[Path, Path]:
    return run_scored(spec_a, tmp_path, tmp_path / "a"), run_scored(spec_b, tmp_path, tmp_path / "b")


def compare(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main(["compare", *map(str, args)])
    return code, capsys.readouterr().out


def score_rows(out: str) -> dict[str, list[str]]:
    """The score table's rows by scorer: the cells after model and scorer."""
    table = re.search(r"^scores over the jobs in both runs.*\n((?:  .*\n)+)", out, re.MULTILINE)
    assert table, out
    rows = {}
    for line in table.group(1).splitlines()[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[1]] = cells[2:]
    return rows


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p from the binomial distribution, by its definition."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n)


# A passes `hit` on r0-r8; B fails r0-r7 (8 flips 1 -> 0) and passes r9 (one 0 -> 1); `ok` never changes.
PROMPTS_A = {f"r{i}": ("yes ok" if i <= 8 else "no ok") for i in range(12)} | {"gone": "yes ok"}
PROMPTS_B = {f"r{i}": ("yes ok" if i in (8, 9) else "no ok") for i in range(12)} | {"new": "no ok"}


def test_holm_keeps_a_single_small_p_from_counting_as_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_a, run_b = runs(tmp_path, spec(PROMPTS_A, [HIT, OK]), spec(PROMPTS_B, [HIT, OK]))
    code, out = compare(capsys, run_a, run_b)
    p = mcnemar_exact(8, 1)
    assert p == pytest.approx(0.0390625)  # below 0.05 on its own ...
    rows = score_rows(out)
    # jobs in both, only A/B, mean A (9/12), mean B (2/12), diff, interval, p, p Holm (2 pairs: 2p), test
    assert rows["hit"][:5] == ["12", "1/1", "0.75", "0.17", "-0.58"]
    assert rows["hit"][6:] == [f"{p:.3f}", f"{2 * p:.3f}", "mcnemar"]  # ... but not after Holm: no change
    assert rows["ok"][:5] == ["12", "1/1", "1.00", "1.00", "+0.00"] and rows["ok"][6:8] == ["1.000", "1.000"]
    assert code == 0  # no new failure, no significantly lower mean
    comparison = compare_runs(load_run(run_a), load_run(run_b))
    hit = comparison.scores.pairs[0]
    assert (hit.scorer, hit.result and hit.result.p_value, hit.p_holm) == ("hit", p, pytest.approx(2 * p))
    low, high = hit.result.ci_low, hit.result.ci_high
    assert low <= -7 / 12 <= high < 0  # the interval of the difference holds the difference
    assert "scores flipped to worse (8):\n  m · r0  hit 1 -> 0\n" in out
    assert "scores flipped to better (1):\n  m · r9  hit 0 -> 1\n" in out


def test_a_significantly_lower_mean_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts_b = PROMPTS_B | {"r9": "no ok"}  # now 8 flips to worse and none to better
    run_a, run_b = runs(tmp_path, spec(PROMPTS_A, [HIT, OK]), spec(prompts_b, [HIT, OK]))
    code, out = compare(capsys, run_a, run_b)
    p = mcnemar_exact(8, 0)
    assert score_rows(out)["hit"][6:] == [f"{p:.3f}", f"{2 * p:.3f}", "mcnemar", "worse"]
    assert "new failures: none" in out
    assert code == 1
    code, out = compare(capsys, run_b, run_a)  # the other way round it is an improvement: exit 0
    assert score_rows(out)["hit"][-1] == "better" and code == 0


def permutation_p(diffs: list[float]) -> float:
    """The exact two-sided sign-flip p-value, by enumerating every assignment of signs."""
    observed = abs(sum(diffs))
    signs = itertools.product((1, -1), repeat=len(diffs))
    hits = [abs(sum(s * d for s, d in zip(flip, diffs))) >= observed - 1e-12 for flip in signs]
    return sum(hits) / len(hits)


def test_numbers_are_compared_with_the_permutation_test_unscored_counting_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scorers.py").write_text(
        "def number(output):\n    return float(output.split()[-1])\n", encoding="utf-8"
    )
    before = [0.5, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.1]
    after: list[float | None] = [0.4, 0.1, 0.5, 0.4, 0.2, 0.35, 0.9, None]  # None: the job fails
    scorer = [{"name": "size", "python": "scorers.py:number"}]
    prompts_a = {f"r{i}": f"v {v}" for i, v in enumerate(before)}
    prompts_b = {f"r{i}": f"v {v}" if v is not None else "fail" for i, v in enumerate(after)}
    run_a, run_b = runs(tmp_path, spec(prompts_a, scorer), spec(prompts_b, scorer))
    code, out = compare(capsys, run_a, run_b)
    b = [v or 0.0 for v in after]  # the failed job is unscored: it counts 0
    diffs = [y - x for x, y in zip(before, b) if y != x]
    p = permutation_p(diffs)
    row = score_rows(out)["size"]
    assert row[:5] == [
        "8",
        "0/0",
        f"{sum(before) / 8:.2f}",
        f"{sum(b) / 8:.2f}",
        f"{(sum(b) - sum(before)) / 8:+.2f}",
    ]
    assert row[6:9] == [f"{p:.3f}", f"{p:.3f}", "permutation"]
    result = compare_runs(load_run(run_a), load_run(run_b)).scores.pairs[0].result
    assert result is not None and result.p_value == pytest.approx(p)
    assert "  m · r7  size 0.1 -> unscored" in out
    assert code == 1  # r7 is a new failure


def test_a_scorer_in_one_run_only_is_listed_not_tested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_a, run_b = runs(tmp_path, spec(PROMPTS_A, [HIT]), spec(PROMPTS_B | {"r9": "no ok"}, [HIT, OK]))
    code, out = compare(capsys, run_a, run_b)
    assert set(score_rows(out)) == {"hit"}
    assert "p adjusted by Holm over 1 comparisons" in out
    assert "not compared (scored in one run only):\n  ok · m: only in B\n" in out
    assert score_rows(out)["hit"][7] == f"{mcnemar_exact(8, 0):.3f}"  # Holm over one pair: p itself
    assert code == 1


def test_group_by_breaks_the_comparison_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    categories = {f"r{i}": {"_cat": "early" if i < 6 else "late"} for i in range(12)}
    categories |= {"gone": {"_cat": "late"}, "new": {"_cat": "late"}}
    spec_a = spec(PROMPTS_A, [HIT], categories, group_by=["_cat"])
    spec_b = spec(PROMPTS_B, [HIT], categories, group_by=["_cat"])
    run_a, run_b = runs(tmp_path, spec_a, spec_b)
    _, out = compare(capsys, run_a, run_b)
    groups = re.search(
        r"^scores by group .*over these (\d+) comparisons\):\n((?:  .*\n)+)", out, re.MULTILINE
    )
    assert groups and groups.group(1) == "2"
    lines = [re.split(r"\s{2,}", line.strip()) for line in groups.group(2).splitlines()[1:]]
    # early: r0-r5 all flip 1 -> 0 (p = 2/64); late: r6, r7 flip to worse, r9 to better, r8 stays
    assert [line[:6] + line[9:11] for line in lines] == [
        [
            "_cat=early",
            "m",
            "hit",
            "6",
            "0/0",
            "1.00",
            f"{mcnemar_exact(6, 0):.3f}",
            f"{2 * mcnemar_exact(6, 0):.3f}",
        ],
        ["_cat=late", "m", "hit", "6", "0/0", "0.50", f"{mcnemar_exact(2, 1):.3f}", "1.000"],
    ]


def test_a_rows_repeats_are_tested_as_one_pair_not_as_independent_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `repeat: 3`, and the double answers a row's repeats alike: 5 rows flip 1 -> 0 in all 3 repeats.
    # Counted as 15 independent jobs McNemar would give 2/2^15 (significant); a row's repeats are one
    # pair, as the runs' own intervals resample rows: 5 discordant rows, p = 2/2^5 = 0.0625.
    prompts_a = {f"r{i}": "yes" if i < 6 else "no" for i in range(10)}
    prompts_b = {f"r{i}": "yes" if i == 5 else "no" for i in range(10)}
    run_a, run_b = runs(tmp_path, spec(prompts_a, [HIT], repeat=3), spec(prompts_b, [HIT], repeat=3))
    junit = tmp_path / "compare.xml"
    code, out = compare(capsys, run_a, run_b, "--junit", junit)
    assert mcnemar_exact(15, 0) < 0.001 and mcnemar_exact(5, 0) == 0.0625
    row = score_rows(out)["hit"]
    # jobs, only A/B, the jobs' means (18/30, 3/30), diff, interval, p, p Holm, test, no change
    assert row[:5] == ["30", "0/0", "0.60", "0.10", "-0.50"]
    assert row[6:] == ["0.062", "0.062", "mcnemar by row"]
    assert code == 0  # not significantly lower: nothing fails the comparison
    result = compare_runs(load_run(run_a), load_run(run_b)).scores.pairs[0].result
    assert result is not None and result.p_value == 0.0625
    rows_a, rows_b = [1] * 6 + [0] * 4, [0] * 5 + [1] + [0] * 4  # the rows, in row order
    assert (result.ci_low, result.ci_high) == newcombe_interval(rows_a, rows_b)
    assert "(mcnemar by row, 30 jobs in 10 rows)" in junit.read_text(encoding="utf-8")
    # history marks a step as compare would: no change here
    assert main(["history", str(tmp_path)]) == 0
    history = capsys.readouterr().out
    assert re.search(r"^  \S+\s+0\.60 \[[^]]*\]$", history, re.MULTILINE)
    assert re.search(r"^  \S+\s+0\.10 \[[^]]*\]$", history, re.MULTILINE)  # no `worse`
