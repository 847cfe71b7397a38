"""Statistics of scores against known values: the mean, Wilson's interval, the bootstrap over rows."""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest

from replicate_batch.scoring.statistics import (
    RowIndex,
    ScoreAccumulator,
    ScoreAccumulators,
    bootstrap_interval,
    interval_method,
    mean_score,
    meets,
    scored_count,
    wilson_interval,
)

Z = 1.959963984540054


def wilson_by_quadratic(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson's bounds as the textbook defines them: the p where |p_hat - p| = z * sqrt(p (1 - p) / n)."""
    p_hat = successes / n
    # (p_hat - p)^2 = z^2 p (1 - p) / n  <=>  (1 + z^2/n) p^2 - (2 p_hat + z^2/n) p + p_hat^2 = 0
    a = 1 + z * z / n
    b = -(2 * p_hat + z * z / n)
    c = p_hat * p_hat
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def test_wilson_for_2_of_5_matches_the_published_values() -> None:
    low, high = wilson_interval(2, 5)
    assert (round(low, 4), round(high, 4)) == (0.1176, 0.7693)
    assert (low, high) == pytest.approx(wilson_by_quadratic(2, 5), abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (7, 20), (1, 3), (500, 1000)]
)
def test_wilson_matches_the_textbook_definition(successes: int, n: int) -> None:
    low, high = wilson_interval(successes, n)
    assert (low, high) == pytest.approx(wilson_by_quadratic(successes, n), abs=1e-12)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_needs_a_job() -> None:
    with pytest.raises(ValueError, match="at least one job"):
        wilson_interval(0, 0)


def test_the_mean_counts_unscored_jobs_as_zero() -> None:
    assert mean_score([1.0, None, 0.5, None]) == 0.375
    assert scored_count([1.0, None, 0.0, None]) == 2
    assert mean_score([]) is None


def repeated(rows: int, repeats: int, seed: int = 1) -> list[tuple[str, float | None]]:
    """Jobs whose repeats agree with each other: one 0/1 outcome per row, given `repeats` times."""
    rng = random.Random(seed)
    jobs: list[tuple[str, float | None]] = []
    for row in range(rows):
        outcome = 1.0 if rng.random() < 0.6 else 0.0
        jobs += [(f"r{row}", outcome)] * repeats
    return jobs


def test_the_bootstrap_is_seeded() -> None:
    rng = random.Random(2)
    jobs: list[tuple[str, float | None]] = [(f"r{i % 30}", rng.random()) for i in range(90)]
    assert bootstrap_interval(jobs) == bootstrap_interval(list(jobs))
    assert bootstrap_interval(jobs) != bootstrap_interval(jobs, seed=1)


def test_the_bootstrap_with_repeat_3_contains_the_mean_and_is_wider_than_independent_repeats() -> None:
    jobs = repeated(40, 3)
    mean = mean_score(value for _, value in jobs)
    assert mean is not None
    low, high = bootstrap_interval(jobs)
    assert low < mean < high
    # The same jobs, each taken as its own row: repeats counted as independent evidence.
    independent = bootstrap_interval((f"job{i}", value) for i, (_, value) in enumerate(jobs))
    assert independent[0] < mean < independent[1]
    assert high - low > 1.4 * (independent[1] - independent[0])  # about sqrt(3) wider


def test_the_bootstrap_of_many_rows_is_close_to_the_normal_interval() -> None:
    jobs = [(f"r{i}", float(i % 2)) for i in range(400)]  # mean 0.5, standard error 0.5 / 20
    low, high = bootstrap_interval(jobs)
    assert low == pytest.approx(0.5 - Z * 0.025, abs=0.008)
    assert high == pytest.approx(0.5 + Z * 0.025, abs=0.008)


def test_the_bootstrap_resamples_rows_of_unequal_size_and_counts_unscored_as_zero() -> None:
    jobs: list[tuple[str, float | None]] = [
        ("a", 1.0),
        ("a", None),
        ("b", 0.5),
        ("c", 1.0),
        ("c", 1.0),
        ("c", 0.0),
    ]
    low, high = bootstrap_interval(jobs)
    assert 0.0 <= low <= 3.5 / 6 <= high <= 1.0
    assert bootstrap_interval([("a", 0.25), ("a", 0.25)]) == (0.25, 0.25)  # one row: no spread


def test_the_interval_is_wilson_for_0_1_scores_run_once_else_the_bootstrap() -> None:
    assert interval_method(binary=True, repeat=1) == "wilson"
    assert interval_method(binary=True, repeat=2) == "bootstrap"
    assert interval_method(binary=False, repeat=1) == "bootstrap"


def test_an_accumulator_of_0_1_scores_run_once_gives_wilson() -> None:
    accumulator = ScoreAccumulator(binary=True, repeat=1, threshold=0.5)
    for row, value in [("a", 1.0), ("b", 0.0), ("c", None), ("d", 1.0), ("e", 0.0)]:
        accumulator.add(row, value)
    result = accumulator.result()
    assert (result.mean, result.n, result.rows, result.scored) == (0.4, 5, 5, 4)
    assert (result.ci_low, result.ci_high) == pytest.approx(wilson_by_quadratic(2, 5), abs=1e-12)
    assert (result.threshold, result.passed, result.method) == (0.5, False, "wilson")


def test_an_accumulator_with_repeats_gives_the_bootstrap_over_rows() -> None:
    jobs = repeated(25, 3)
    accumulator = ScoreAccumulator(binary=True, repeat=3)
    for row, value in jobs:
        accumulator.add(row, value)
    result = accumulator.result()
    assert (result.n, result.rows, result.scored, result.method) == (75, 25, 75, "bootstrap")
    assert (result.ci_low, result.ci_high) == bootstrap_interval(jobs)
    assert result.mean == pytest.approx(mean_score(v for _, v in jobs))
    assert (result.threshold, result.passed) == (None, None)


def test_accumulators_sharing_a_row_index_count_only_their_own_rows() -> None:
    index = RowIndex()
    first = ScoreAccumulator(binary=False, rows=index)
    second = ScoreAccumulator(binary=False, rows=index)
    for row in ("a", "b", "c"):
        first.add(row, 1.0)
    second.add("c", 0.5)
    second.add("d", None)
    assert len(index) == 4
    assert (first.result().rows, second.result().rows) == (3, 2)
    assert second.result().mean == 0.25


def test_a_mean_meets_a_threshold_it_equals_in_decimal() -> None:
    accumulator = ScoreAccumulator(binary=False, threshold=0.7)
    for row in "abc":
        accumulator.add(row, 0.7)
    result = accumulator.result()
    assert result.mean is not None and result.mean < 0.7  # 2.0999999999999996 / 3 in binary floating point
    assert result.passed is True
    assert meets(0.69, 0.7) is False
    assert meets(None, 0.7) is False
    assert meets(0.5, None) is None


def test_no_jobs_no_mean() -> None:
    result = ScoreAccumulator(binary=True).result()
    assert (result.mean, result.ci_low, result.ci_high, result.n, result.rows, result.scored) == (
        None, None, None, 0, 0, 0,
    )  # fmt: skip


def test_an_accumulator_keeps_rows_not_jobs() -> None:
    index = RowIndex()
    index.numbers(range(1000))
    accumulator = ScoreAccumulator(binary=False, repeat=100, rows=index)
    accumulator.add(0, 1.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for job in range(20_000):
            accumulator.add(job % 1000, None if job % 7 == 0 else (job % 3) / 2)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024  # two arrays of 1,000 numbers, however many jobs
    result = accumulator.result()
    assert (result.n, result.rows) == (20_001, 1000)
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low < (result.mean or 0) < result.ci_high


def test_rows_of_few_kinds_and_rows_all_different_give_the_same_bootstrap() -> None:
    # 0/1 outcomes of rows run 3 times take a few distinct (sum, count) kinds, drawn as counts of each kind;
    # a hair of noise makes every row its own kind, drawn row by row. Same distribution, same interval.
    rng = random.Random(3)
    outcomes = [float(rng.random() < 0.3) for _ in range(500)]
    few = [(f"r{i}", value) for i, value in enumerate(outcomes) for _ in range(3)]
    distinct = [(f"r{i}", value + i * 1e-12) for i, value in enumerate(outcomes) for _ in range(3)]
    by_kind, by_row = bootstrap_interval(few), bootstrap_interval(distinct)
    assert by_kind == pytest.approx(by_row, abs=0.01)
    mean = sum(outcomes) / 500
    half = Z * math.sqrt(mean * (1 - mean) / 500)  # the normal interval of a proportion over 500 rows
    assert by_kind == pytest.approx((mean - half, mean + half), abs=0.01)


def test_scores_that_differ_job_by_job_aggregate_as_a_few_outcomes_do() -> None:
    # Jobs are counted per distinct outcome and folded into totals past _OUTCOMES_KEPT outcomes: three
    # scorers whose values are all different, or unscored, give the mean and count of adding them up.
    generator = random.Random(7)
    jobs = [
        (f"r{i}", (generator.random(), None if i % 5 == 0 else 1.0, generator.choice((0.25, 0.5, None))))
        for i in range(3_000)
    ]
    accumulators = ScoreAccumulators([(False, None), (True, 0.9), (False, 0.5)])
    for row, values in jobs:
        accumulators.add(row, values)
    results = accumulators.results()
    for i, result in enumerate(results):
        scores = [values[i] for _, values in jobs]
        total = math.fsum(v for v in scores if v is not None)
        assert result.mean == pytest.approx(total / len(jobs), rel=1e-12)
        assert (result.n, result.rows, result.scored) == (3_000, 3_000, sum(v is not None for v in scores))
    assert [r.passed for r in results] == [None, False, False]
    assert accumulators.results() == results  # asking again folds nothing twice
