"""The paired statistics of `compare` against values computed here independently (exact arithmetic)."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from fractions import Fraction

import pytest

from replicate_batch.scoring.statistics.paired import (
    DRAWS,
    EXACT_FLIPS,
    NORMAL_PAIRS,
    PairedResult,
    bootstrap_interval,
    holm_adjust,
    mcnemar_p,
    newcombe_interval,
    paired_test,
    sign_flip_p,
)


def exact_mcnemar(b: int, c: int) -> float:
    """min(1, 2 P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2), in exact rational arithmetic."""
    n = b + c
    tail = Fraction(sum(math.comb(n, k) for k in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def exact_sign_flip(diffs: list[Fraction]) -> Fraction:
    """Share of all 2**n sign vectors whose |sum| is at least the observed |sum|, exactly."""
    observed = abs(sum(diffs))
    flips = list(itertools.product((1, -1), repeat=len(diffs)))
    extreme = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed for signs in flips)
    return Fraction(extreme, len(flips))


def sign_flip_distribution(diffs: list[int]) -> Fraction:
    """The same for integer differences by convolution (sum -> number of sign vectors), for larger n."""
    ways: Counter[int] = Counter({0: 1})
    for d in diffs:
        step: Counter[int] = Counter()
        for total, count in ways.items():
            step[total + d] += count
            step[total - d] += count
        ways = step
    observed = abs(sum(diffs))
    return Fraction(sum(c for t, c in ways.items() if abs(t) >= observed), 2 ** len(diffs))


# -- McNemar -------------------------------------------------------------------------------------


def test_mcnemar_known_values() -> None:
    assert mcnemar_p(1, 9) == 0.021484375 == exact_mcnemar(1, 9)  # 2 * (1 + 10) / 1024
    assert mcnemar_p(9, 1) == 0.021484375
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(0, 5) == 0.0625  # 2 / 32
    assert mcnemar_p(4, 5) == 1.0  # 2 * P(X <= 4) > 1 for n = 9: capped


@pytest.mark.parametrize(("b", "c"), [(0, 1), (2, 7), (3, 17), (40, 61), (0, 30), (120, 80), (480, 520)])
def test_mcnemar_matches_the_exact_binomial_tail(b: int, c: int) -> None:
    assert mcnemar_p(b, c) == pytest.approx(exact_mcnemar(b, c), rel=1e-12)


@pytest.mark.parametrize(("b", "c"), [(1450, 1550), (1300, 1700), (1499, 1501), (1100, 1900)])
def test_mcnemar_for_many_discordant_pairs_matches_the_exact_tail(b: int, c: int) -> None:
    # beyond 1,000 discordant pairs the tail is summed in floating point from log-gamma
    assert mcnemar_p(b, c) == pytest.approx(exact_mcnemar(b, c), rel=1e-9)


def test_mcnemar_with_100_000_discordant_pairs_stays_a_probability() -> None:
    assert mcnemar_p(50_000, 50_000) == 1.0
    assert 0.0 < mcnemar_p(49_700, 50_300) < mcnemar_p(49_800, 50_200) < 1.0
    assert mcnemar_p(0, 100_000) == 0.0  # 2**-99999 is below the smallest float


def test_mcnemar_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        mcnemar_p(-1, 3)


# -- sign-flip permutation test ------------------------------------------------------------------


def test_sign_flip_known_value() -> None:
    # of the 16 sign vectors of 1, 2, 3, 4 only all-plus and all-minus reach |sum| = 10
    assert sign_flip_p([1, 2, 3, 4]) == 0.125
    assert sign_flip_p([0, 1, 0, 2, 3, 4, 0]) == 0.125  # zero differences change no sum
    assert sign_flip_p([-1, -2, -3, -4]) == 0.125


def test_sign_flip_without_a_difference_is_1() -> None:
    assert sign_flip_p([]) == 1.0
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0


@pytest.mark.parametrize(
    "decimals",
    [
        ["0.3", "-0.1", "0.25", "0.7", "-0.05", "0.4", "0.2"],
        ["0.1", "0.2", "-0.3", "0.3", "0.6", "-0.6"],  # ties that floats do not add up to exactly
        ["0.5", "0.5", "0.5", "-0.5", "1", "-0.25", "0.75", "0.125", "1", "0.5"],
    ],
)
def test_sign_flip_is_exact_for_few_differences(decimals: list[str]) -> None:
    expected = exact_sign_flip([Fraction(d) for d in decimals])
    assert sign_flip_p([float(d) for d in decimals]) == float(expected)


def test_up_to_16_nonzero_differences_are_enumerated_then_sampled() -> None:
    diffs = [i if i % 3 else -i for i in range(1, EXACT_FLIPS + 1)]
    p = sign_flip_p(diffs)
    assert p == float(sign_flip_distribution(diffs))
    assert (p * 2**EXACT_FLIPS).is_integer()
    sampled = sign_flip_p([*diffs, 17])
    assert (sampled * (DRAWS + 1)).is_integer()  # (1 + hits) / (draws + 1)


@pytest.mark.parametrize(
    "diffs",
    [
        [1] * 11 + [-1] * 6 + [2] * 5 + [-2] * 2,  # few pairs: signs drawn eight at a time
        [1] * 300 + [-1] * 280 + [2] * 100 + [-2] * 90,  # many pairs of few distinct sizes: counts per size
        [i if i % 3 else -i for i in range(1, 21)],  # all distinct: signs drawn eight at a time
        [i if i % 3 else -i for i in range(1, 38)],
        [i if i % 5 and i % 3 else -i for i in range(1, 38)],
    ],
)
def test_monte_carlo_sign_flip_is_close_to_the_exact_distribution(diffs: list[int]) -> None:
    exact = float(sign_flip_distribution(diffs))
    assert 0.05 < exact < 0.95  # a p-value where the sampling error shows
    sampled = sign_flip_p(diffs)
    assert sampled == sign_flip_p(diffs)  # seeded: the same every time
    # 10,000 draws: the standard error is at most 0.005
    assert sampled == pytest.approx(exact, abs=0.012)


def test_monte_carlo_p_is_never_below_one_over_draws_plus_one() -> None:
    assert sign_flip_p([1.0] * 40) == 1 / (DRAWS + 1)  # exact p is 2**-39
    assert sign_flip_p([1 + i / 1000 for i in range(40)]) == 1 / (DRAWS + 1)
    assert sign_flip_p([1.0] * 40, draws=99) == 1 / 100


def test_sign_flip_refuses_what_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="finite"):
        sign_flip_p([1.0, math.nan])


# -- bootstrap interval --------------------------------------------------------------------------


def normal_interval(diffs: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(diffs)
    half = 1.96 * statistics.pstdev(diffs) / math.sqrt(len(diffs))
    return mean - half, mean + half


def test_bootstrap_of_constant_differences_is_that_constant() -> None:
    assert bootstrap_interval([0.25] * 30) == (0.25, 0.25)
    assert bootstrap_interval([1.0]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "diffs",
    [
        [0.0, 1.0] * 200,  # few distinct values: drawn as multinomial counts
        [-1.0] * 30 + [0.0] * 300 + [1.0] * 70,  # 0/1 pairs: the differences are -1, 0, 1
        [(i % 2) + i * 1e-9 for i in range(400)],  # all distinct: pairs drawn one by one
        [math.sin(i) for i in range(500)],
    ],
)
def test_bootstrap_interval_is_close_to_the_normal_one_for_many_pairs(diffs: list[float]) -> None:
    low, high = bootstrap_interval(diffs)
    assert (low, high) == bootstrap_interval(diffs)  # seeded
    assert low < statistics.fmean(diffs) < high
    normal_low, normal_high = normal_interval(diffs)
    width = normal_high - normal_low
    assert low == pytest.approx(normal_low, abs=0.1 * width)
    assert high == pytest.approx(normal_high, abs=0.1 * width)


def resampled_interval(diffs: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A percentile bootstrap written out here: resample the pairs, take the 2.5% and 97.5% means."""
    import numpy as np

    rng = np.random.default_rng(12345)
    values = np.asarray(diffs)
    means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(resamples)]
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def test_many_pairs_get_the_normal_limit_of_the_bootstrap_when_it_is_as_close() -> None:
    diffs = [math.sin(i) + 0.1 for i in range(NORMAL_PAIRS * 2)]  # all distinct, hardly skewed
    low, high = bootstrap_interval(diffs)
    half = statistics.NormalDist().inv_cdf(0.975) * statistics.pstdev(diffs) / math.sqrt(len(diffs))
    mean = statistics.fmean(diffs)
    assert (low, high) == pytest.approx((mean - half, mean + half), rel=1e-9)  # the limit itself ...
    ref_low, ref_high = resampled_interval(diffs)
    width = ref_high - ref_low
    assert low == pytest.approx(ref_low, abs=0.1 * width)  # ... as close to resampling as resampling is
    assert high == pytest.approx(ref_high, abs=0.1 * width)


def test_many_skewed_pairs_are_still_resampled() -> None:
    diffs = [0.0] * (NORMAL_PAIRS * 2 - 10) + [1000.0 + i for i in range(10)]  # rare large gains
    low, high = bootstrap_interval(diffs)
    assert (low, high) != pytest.approx(normal_interval(diffs), rel=1e-3)  # the limit is not used
    ref_low, ref_high = resampled_interval(diffs)
    width = ref_high - ref_low
    assert low == pytest.approx(ref_low, abs=0.1 * width) and high == pytest.approx(ref_high, abs=0.1 * width)


def test_bootstrap_level_widens_the_interval() -> None:
    diffs = [math.sin(i) for i in range(200)]
    low_90, high_90 = bootstrap_interval(diffs, level=0.90)
    low_99, high_99 = bootstrap_interval(diffs, level=0.99)
    assert low_99 < low_90 < high_90 < high_99


def test_bootstrap_needs_pairs() -> None:
    with pytest.raises(ValueError, match="no pairs"):
        bootstrap_interval([])


# -- Holm ----------------------------------------------------------------------------------------


def test_holm_known_example() -> None:
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_1_and_keeps_single_and_empty_lists() -> None:
    assert holm_adjust([0.5, 0.6, 0.01]) == pytest.approx([1.0, 1.0, 0.03])
    assert holm_adjust([0.04]) == [0.04]
    assert holm_adjust([]) == []


def test_holm_is_monotone_in_the_raw_p_values() -> None:
    raw = [0.02, 0.001, 0.2, 0.019, 0.5, 0.0125, 0.03]
    adjusted = holm_adjust(raw)
    assert all(a >= p for a, p in zip(adjusted, raw))
    by_raw = [adjusted[i] for i in sorted(range(len(raw)), key=raw.__getitem__)]
    assert by_raw == sorted(by_raw)
    # step-down by hand: 7 * 0.001, 6 * 0.0125, 5 * 0.019, 4 * 0.02, 3 * 0.03, 2 * 0.2, 1 * 0.5
    assert adjusted == pytest.approx([0.095, 0.007, 0.4, 0.095, 0.5, 0.075, 0.095])


def test_holm_refuses_what_is_not_a_p_value() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        holm_adjust([0.1, 1.5])


# -- Newcombe's interval for 0/1 scores -----------------------------------------------------------


def paired_table(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[int], list[int]]:
    """Runs A and B's scores on jobs counted as a paired 2x2 table."""
    a = [1] * both + [1] * only_a + [0] * only_b + [0] * neither
    b = [1] * both + [0] * only_a + [1] * only_b + [0] * neither
    return a, b


def test_newcombe_interval_against_a_published_value() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), chapter 8:
    # complete response before and after consolidation therapy (Cavo et al., 2012), 161 patients:
    # 59 both, 6 after only, 16 before only, 80 neither; Newcombe's square-and-add interval of
    # after - before: -0.0621 (95% CI -0.1186 to -0.0046).
    a, b = paired_table(59, 16, 6, 80)
    low, high = newcombe_interval(a, b)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)
    assert newcombe_interval(b, a) == pytest.approx((-high, -low))  # B - A is -(A - B)


def test_newcombe_interval_does_not_collapse_where_the_bootstrap_does() -> None:
    # Three jobs, each 0 in A and 1 in B: every resample of the pairs has mean difference 1.
    a, b = [0, 0, 0], [1, 1, 1]
    assert bootstrap_interval([y - x for x, y in zip(a, b)]) == (1.0, 1.0)
    low, high = newcombe_interval(a, b)
    # Wilson's intervals are [0, 0.5615] for 0 of 3 and [0.4385, 1] for 3 of 3; phi is 0 (a margin is
    # empty), so the lower end is 1 - sqrt(0.5615^2 + 0.5615^2).
    assert low == pytest.approx(1 - math.sqrt(2) * (1 - 0.43850297), abs=1e-6)
    assert high == 1.0
    low, high = newcombe_interval([1, 0, 1], [1, 0, 1])  # no change: an interval around 0, both ways
    assert low == pytest.approx(-high) and 0 < high < 1
    with pytest.raises(ValueError, match="differ in length"):
        newcombe_interval([1], [1, 0])


# -- choosing the test ---------------------------------------------------------------------------


def test_zero_one_scores_get_exact_mcnemar() -> None:
    # 1 job went pass -> fail, 9 fail -> pass, 6 stayed passing, 4 stayed failing
    a = [1] * 1 + [0] * 9 + [1] * 6 + [0] * 4
    b = [0] * 1 + [1] * 9 + [1] * 6 + [0] * 4
    result = paired_test(a, b)
    assert isinstance(result, PairedResult)
    assert result.test == "mcnemar"
    assert result.p_value == 0.021484375
    assert (result.n, result.mean_a, result.mean_b) == (20, 0.35, 0.75)
    assert result.diff == pytest.approx(0.4)
    assert (result.ci_low, result.ci_high) == newcombe_interval(a, b)  # not the bootstrap's
    assert paired_test([True, False], [1.0, 0.0]).test == "mcnemar"


def test_other_scores_get_the_permutation_test() -> None:
    a = [0.5, 0.2, 0.9, 0.4, 0.6]
    b = [0.7, 0.1, 1.0, 0.8, 0.6]
    result = paired_test(a, b)
    assert result.test == "permutation"
    assert result.p_value == sign_flip_p([y - x for x, y in zip(a, b)])
    assert result.p_value == float(exact_sign_flip([Fraction(d) for d in ("0.2", "-0.1", "0.1", "0.4", "0")]))
    assert result.diff == pytest.approx(0.12)
    assert result.mean_b - result.mean_a == pytest.approx(result.diff)
    assert result.ci_low <= result.diff <= result.ci_high


def test_unmatched_or_empty_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_test([1, 0], [1])
    with pytest.raises(ValueError, match="no pairs"):
        paired_test([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_test([1.0, math.inf], [1.0, 0.0])
