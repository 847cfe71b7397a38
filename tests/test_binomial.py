"""The pure-Python binomial draws behind the bootstrap of few kinds, against the exact distribution."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections import Counter

import pytest

from replicate_batch.scoring.statistics import bootstrap_rows
from replicate_batch.scoring.statistics.binomial import binomial, multinomial
from replicate_batch.scoring.statistics.bootstrap import FEW_KINDS

DRAWS = 20_000


def pmf(n: int, p: float, k: int) -> float:
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return math.exp(log_comb + k * math.log(p) + (n - k) * math.log(1 - p))


def chi_square(n: int, p: float, drawn: Counter[int]) -> tuple[float, int]:
    """Pearson's statistic over the values expected at least 20 times (the rest pooled), and its dof."""
    statistic, bins, pooled_seen, pooled_expected = 0.0, 0, 0, 0.0
    for k in range(n + 1):
        expected = DRAWS * pmf(n, p, k)
        if expected >= 20:
            statistic += (drawn[k] - expected) ** 2 / expected
            bins += 1
        else:
            pooled_seen += drawn[k]
            pooled_expected += expected
    if pooled_expected >= 20:
        statistic += (pooled_seen - pooled_expected) ** 2 / pooled_expected
        bins += 1
    return statistic, bins - 1


@pytest.mark.parametrize(
    ("n", "p"),
    [
        (5, 0.3),  # inversion
        (40, 0.2),  # inversion, n·p just under 10
        (60, 0.95),  # p over 1/2: the mirror of 0.05
        (100, 0.5),  # rejection (BTRS)
        (1000, 0.03),  # rejection, a skewed distribution
        (2000, 0.7),
    ],
)
def test_binomial_draws_follow_the_binomial_distribution(n: int, p: float) -> None:
    rng = random.Random(7)
    drawn = Counter(binomial(rng, n, p) for _ in range(DRAWS))
    assert min(drawn) >= 0 and max(drawn) <= n
    mean = sum(k * c for k, c in drawn.items()) / DRAWS
    variance = sum(c * (k - mean) ** 2 for k, c in drawn.items()) / DRAWS
    assert mean == pytest.approx(n * p, abs=4 * math.sqrt(n * p * (1 - p) / DRAWS))
    assert variance == pytest.approx(n * p * (1 - p), rel=0.05)
    statistic, dof = chi_square(n, p, drawn)
    # Seeded, so not flaky; a wrong constant in the rejection step moves the statistic far beyond
    # its 99.9% point (about dof + 3.1 sqrt(2 dof) + 10 for these sizes).
    assert statistic < dof + 3.1 * math.sqrt(2 * dof) + 10, (statistic, dof)


def test_binomial_edges() -> None:
    rng = random.Random(0)
    assert binomial(rng, 0, 0.5) == 0
    assert binomial(rng, 10, 0.0) == 0
    assert binomial(rng, 10, 1.0) == 10
    assert {binomial(rng, 1, 0.5) for _ in range(200)} == {0, 1}


def test_a_multinomial_draw_shares_out_every_item_in_proportion() -> None:
    rng = random.Random(3)
    weights = [50, 30, 15, 5]
    totals = [0] * 4
    for _ in range(2000):
        drawn = multinomial(rng, 1000, weights)
        assert sum(drawn) == 1000 and min(drawn) >= 0
        totals = [t + d for t, d in zip(totals, drawn)]
    shares = [t / (2000 * 1000) for t in totals]
    assert shares == pytest.approx([0.50, 0.30, 0.15, 0.05], abs=0.002)


def numpy_row_bootstrap(sums: list[float], counts: list[int]) -> tuple[float, float]:
    """Rows drawn one by one with numpy: the bootstrap as the textbook writes it."""
    import numpy as np

    rng = np.random.default_rng(99)
    s, c = np.asarray(sums), np.asarray(counts)
    drawn = rng.integers(0, len(s), size=(2000, len(s)))
    low, high = np.quantile(s[drawn].sum(axis=1) / c[drawn].sum(axis=1), [0.025, 0.975])
    return float(low), float(high)


@pytest.mark.parametrize(
    ("sums", "counts"),
    [
        ([1.0] * 70 + [0.0] * 30, [1] * 100),  # pass/fail, once each
        ([3.0] * 20 + [2.0] * 10 + [1.0] * 5 + [0.0] * 15, [3] * 50),  # 0/1 repeated 3 times
        ([1.0] * 40 + [0.5] * 40 + [0.0] * 20, [1] * 100),  # a judge's 0 / 0.5 / 1
    ],
)
def test_few_kinds_give_the_interval_of_drawing_rows(sums: list[float], counts: list[int]) -> None:
    low, high = bootstrap_rows(sums, counts)
    assert (low, high) == bootstrap_rows(list(reversed(sums)), list(reversed(counts)))  # order-free
    mean = sum(sums) / sum(counts)
    assert low < mean < high
    ref_low, ref_high = numpy_row_bootstrap(sums, counts)
    width = ref_high - ref_low
    assert low == pytest.approx(ref_low, abs=0.1 * width)
    assert high == pytest.approx(ref_high, abs=0.1 * width)


def test_rows_of_no_jobs_are_left_out() -> None:
    assert bootstrap_rows([1.0, 0.0, 0.0], [1, 1, 0]) == bootstrap_rows([1.0, 0.0], [1, 1])


def test_few_kinds_of_rows_do_not_load_numpy() -> None:
    # Fresh interpreter: numpy costs a run ~22 MB of memory, only worth it for many kinds of rows.
    code = (
        "import sys\n"
        "from replicate_batch.scoring.statistics import bootstrap_rows\n"
        f"bootstrap_rows([float(i % {FEW_KINDS}) for i in range(100_000)], [{FEW_KINDS}] * 100_000)\n"
        "assert 'numpy' not in sys.modules\n"
        "bootstrap_rows([i / 100 for i in range(100)], [1] * 100)\n"
        "assert 'numpy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
