"""Paired statistics for `compare`: two runs' scores on the same jobs, A before and B after.

Every pair is one job scored in both runs, so the tests work on the per-job differences B - A:
- `mcnemar_p`: exact two-sided McNemar test for 0/1 scores, from the discordant counts;
- `sign_flip_p`: two-sided paired sign-flip permutation test on the mean difference (exact for a
  few nonzero differences, else Monte Carlo with a seeded generator);
- `newcombe_interval`: Newcombe's square-and-add interval of the difference for 0/1 scores;
- `bootstrap_interval`: percentile interval of the mean difference, resampling pairs (seeded), for
  other scores; from 10,000 pairs on, its normal limit where that is as close as 2,000 resamples would
  get (`_normal_limit`);
- `holm_adjust`: Holm-Bonferroni adjustment across the (model, scorer) pairs compared;
- `paired_test`: all of it for one (model, scorer): McNemar and Newcombe's interval when every score
  is 0 or 1, else the permutation test and the bootstrap interval; `paired_p` the p-value alone.

Everything is deterministic for the same input. The Monte Carlo test and the bootstrap use numpy
(imported when they run): with 100,000 pairs they draw millions of numbers, which plain Python
would take minutes over. Both group equal differences first, so 0/1 and few-valued scores cost
next to nothing however many jobs there are.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

from .wilson import wilson_interval

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "PairedResult",
    "all_zero_one",
    "bootstrap_interval",
    "holm_adjust",
    "mcnemar_p",
    "newcombe_interval",
    "paired_p",
    "paired_test",
    "sign_flip_p",
]

EXACT_FLIPS = 16  # up to this many nonzero differences, enumerate all 2**n sign flips
DRAWS = 10_000  # Monte Carlo sign flips beyond that
RESAMPLES = 2_000  # bootstrap resamples
SEED = 0
LEVEL = 0.95
_EXACT_BINOMIAL_N = 1_000  # McNemar with integer arithmetic up to this many discordant pairs
NORMAL_PAIRS = 10_000  # from this many pairs on, the bootstrap interval may be its normal limit
NORMAL_SHIFT = 0.01  # ... when that moves its ends by at most this many standard errors
_CHUNK_CELLS = 2_000_000  # random numbers drawn per numpy call (bounds memory at ~16 MB per array)
_FEW_VALUES = 4  # bootstrap: draw counts per value when there are at most n / this many distinct values
# Sign flips: a binomial draw per distinct size costs about as much as 64 sizes flipped eight at a time
# (measured: ~120 ns against ~14 ns per eight), so counts per size pay off below n / 64 distinct sizes.
_FEW_SIZES = 64


@dataclass(frozen=True)
class PairedResult:
    """One (model, scorer) compared across two runs; `diff` is mean_b - mean_a (positive: B is higher)."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: Literal["mcnemar", "permutation"]


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value for `b` pairs going 1 -> 0 and `c` going 0 -> 1."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must not be negative, got b={b}, c={c}")
    n, low = b + c, min(b, c)
    if 2 * low >= n:  # also n == 0: nothing discordant, no evidence either way
        return 1.0
    if n <= _EXACT_BINOMIAL_N:
        term, tail = 1, 0
        for k in range(low + 1):
            tail += term
            term = term * (n - k) // (k + 1)
        return min(1.0, 2 * tail / (1 << n))
    # P(X = low) from log-gamma, then the smaller terms relative to it, until they stop mattering
    log_top = math.lgamma(n + 1) - math.lgamma(low + 1) - math.lgamma(n - low + 1) - n * math.log(2)
    ratio, total = 1.0, 1.0
    for k in range(low, 0, -1):
        ratio *= k / (n - k + 1)
        total += ratio
        if ratio < 1e-17 * total:
            break
    return min(1.0, 2 * math.exp(log_top + math.log(total)))


def sign_flip_p(diffs: Sequence[float], *, draws: int = DRAWS, seed: int = SEED) -> float:
    """Two-sided paired permutation p-value of the mean difference, flipping each pair's sign."""
    nonzero = [float(d) for d in _finite(diffs) if d != 0]
    if not nonzero:
        return 1.0
    observed = abs(math.fsum(nonzero))
    slack = 1e-9 * math.fsum(abs(d) for d in nonzero)  # sums of the same numbers in another order
    if len(nonzero) <= EXACT_FLIPS:
        # flipping the subset with sum t turns the total s into s - 2t: enumerate every subset's sum
        subset_sums = [0.0]
        for d in nonzero:
            subset_sums += [t + d for t in subset_sums]
        total = math.fsum(nonzero)
        extreme = sum(abs(total - 2 * t) >= observed - slack for t in subset_sums)
        return extreme / len(subset_sums)
    return (1 + _flipped_at_least(nonzero, observed - slack, draws, seed)) / (draws + 1)


def newcombe_interval(a: Sequence[float], b: Sequence[float], *, level: float = LEVEL) -> tuple[float, float]:
    """Newcombe's square-and-add interval (1998, his method 10) of mean(b) - mean(a), for paired scores
    that are all 0 or 1.

    Each run's proportion gets Wilson's interval, and the two are combined with the pairs' correlation
    (phi, with Newcombe's continuity adjustment). Unlike the percentile bootstrap, it does not collapse
    to a point when every pair that differs differs the same way: 3 jobs of 3 going from 0 to 1 give
    about [0.21, 1.00], where resampling them gives [1.00, 1.00].
    """
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} and {len(b)}")
    if not a:
        raise ValueError("no pairs to compare")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    outcomes = Counter((bool(x), bool(y)) for x, y in zip(a, b))
    both, only_a, only_b = outcomes[(True, True)], outcomes[(True, False)], outcomes[(False, True)]
    n = len(a)
    neither = n - both - only_a - only_b
    p_a, p_b = (both + only_a) / n, (both + only_b) / n
    z = NormalDist().inv_cdf(0.5 + level / 2)
    low_a, high_a = wilson_interval(both + only_a, n, z)
    low_b, high_b = wilson_interval(both + only_b, n, z)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = 0.0
    if margins:
        cross = both * neither - only_a * only_b
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    diff = p_b - p_a

    def spread(down: float, up: float) -> float:  # b's distance to one end, a's to the other
        return math.sqrt(max(0.0, down * down + up * up - 2 * phi * down * up))

    return diff - spread(p_b - low_b, high_a - p_a), diff + spread(high_b - p_b, p_a - low_a)


def bootstrap_interval(
    diffs: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean difference, resampling the pairs."""
    values = [float(d) for d in _finite(diffs)]
    if not values:
        raise ValueError("no pairs to resample")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    limit = _normal_limit(array, level) if len(array) >= NORMAL_PAIRS else None
    if limit is not None:
        return limit
    means = _resampled_means(array, resamples, seed)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def _normal_limit(diffs: npt.NDArray[np.float64], level: float) -> tuple[float, float] | None:
    """The bootstrap interval's normal limit, mean ± z·sd/√n, where it is as good as resampling.

    The percentile bootstrap of a mean differs from its normal limit by the Cornish-Fisher terms of
    the resampled means' skewness (γ/√n) and excess kurtosis (κ/n). Where those move the quantiles by
    at most `NORMAL_SHIFT` standard errors (2,000 resamples place them only to within ~0.06), the
    limit is returned; otherwise None, and the pairs are resampled. With 100,000 distinct
    differences resampling takes seconds; the limit, milliseconds.
    """
    import numpy as np

    n = len(diffs)
    mean = float(diffs.mean())
    centred = diffs - mean
    variance = float(np.mean(centred**2))  # the plug-in variance: what resampling n pairs sees
    if variance == 0:
        return mean, mean
    skew = float(np.mean(centred**3)) / variance**1.5
    kurtosis = float(np.mean(centred**4)) / variance**2 - 3
    z = NormalDist().inv_cdf(0.5 + level / 2)
    shift = abs(skew) * (z * z - 1) / (6 * math.sqrt(n)) + abs(kurtosis) * abs(z**3 - 3 * z) / (24 * n)
    if shift > NORMAL_SHIFT:
        return None
    half = z * math.sqrt(variance / n)
    return mean - half, mean + half


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (monotone in the p-values, at most 1)."""
    for p in p_values:
        if not 0 <= p <= 1:
            raise ValueError(f"a p-value must be between 0 and 1, got {p}")
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_test(scores_a: Sequence[float], scores_b: Sequence[float], *, seed: int = SEED) -> PairedResult:
    """Compare two runs' scores on the same jobs (same order): means, difference, interval, p-value."""
    if len(scores_a) != len(scores_b):
        raise ValueError(f"paired scores differ in length: {len(scores_a)} and {len(scores_b)}")
    if not scores_a:
        raise ValueError("no pairs to compare")
    a, b = _finite(scores_a), _finite(scores_b)
    diffs = _differences(a, b)
    ci_low, ci_high = newcombe_interval(a, b) if all_zero_one(a, b) else bootstrap_interval(diffs, seed=seed)
    p_value, test = paired_p(a, b, seed=seed)
    mean_a, mean_b = math.fsum(a) / len(a), math.fsum(b) / len(b)
    return PairedResult(
        n=len(a),
        mean_a=mean_a,
        mean_b=mean_b,
        diff=math.fsum(diffs) / len(diffs),
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        test=test,
    )


def paired_p(
    scores_a: Sequence[float], scores_b: Sequence[float], *, seed: int = SEED
) -> tuple[float, Literal["mcnemar", "permutation"]]:
    """The two-sided p-value `paired_test` gives (and its test), without the interval: for `history`."""
    if len(scores_a) != len(scores_b):
        raise ValueError(f"paired scores differ in length: {len(scores_a)} and {len(scores_b)}")
    a, b = _finite(scores_a), _finite(scores_b)
    if all_zero_one(a, b):
        return mcnemar_p(sum(x > y for x, y in zip(a, b)), sum(x < y for x, y in zip(a, b))), "mcnemar"
    return sign_flip_p(_differences(a, b), seed=seed), "permutation"


def all_zero_one(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether every score of both runs is 0 or 1 (McNemar's case)."""
    return set(a) <= {0, 1} and set(b) <= {0, 1}


def _differences(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """b - a per pair, rounded to 12 significant digits of the largest score: scores read from decimal
    text (0.123 - 0.1) differ from the decimal difference by float noise, and equal differences must
    group as equal (the tests cost less the fewer distinct differences there are)."""
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    largest = float(max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0)))
    if largest == 0:
        return [0.0] * len(x)
    digits = 12 - math.ceil(math.log10(largest))
    return list(np.round(y - x, digits).tolist())


def _finite(values: Sequence[float]) -> list[float]:
    numbers = list(map(float, values))
    if not all(map(math.isfinite, numbers)):
        bad = next(v for v in numbers if not math.isfinite(v))
        raise ValueError(f"scores must be finite numbers, got {bad}")
    return numbers


def _flipped_at_least(nonzero: list[float], threshold: float, draws: int, seed: int) -> int:
    """How many of `draws` random sign flips give |sum| >= threshold."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = Counter(abs(d) for d in nonzero)
    if len(counts) * _FEW_SIZES <= len(nonzero):
        # the signs of m equal magnitudes sum to 2 * Binomial(m, 1/2) - m
        sizes = np.array(list(counts.values()), dtype=np.int64)
        values = np.array(list(counts.keys()), dtype=np.float64)
        hits = 0
        for rows in _chunks(draws, len(counts)):
            heads = rng.binomial(sizes, 0.5, size=(rows, len(counts)))
            hits += int(np.count_nonzero(np.abs((2 * heads - sizes) @ values) >= threshold))
        return hits
    # Many distinct magnitudes: eight at a time, a random byte says which of the eight are flipped,
    # and a 256-entry table per eight holds the sum each byte flips (8x fewer steps, all in cache).
    magnitudes = np.abs(np.array(nonzero, dtype=np.float64))
    octets = np.pad(magnitudes, (0, -len(magnitudes) % 8)).reshape(-1, 8)
    bits = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float64)
    flipped = np.zeros(draws, dtype=np.float64)
    step = max(1, _CHUNK_CELLS // draws)
    for start in range(0, len(octets), step):
        table = octets[start : start + step] @ bits.T
        picks = rng.integers(0, 256, size=(len(table), draws), dtype=np.uint8)
        for row, pick in zip(table, picks):  # a row at a time: the byte indices need no widening
            flipped += row[pick]
    return int(np.count_nonzero(np.abs(magnitudes.sum() - 2 * flipped) >= threshold))


def _resampled_means(diffs: npt.NDArray[np.float64], resamples: int, seed: int) -> npt.NDArray[np.float64]:
    """The mean of each of `resamples` resamples of the pairs, with replacement."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(diffs)
    values, sizes = np.unique(diffs, return_counts=True)
    if len(values) * _FEW_VALUES <= n:
        # resampling n pairs = drawing how many of each distinct difference: a multinomial
        picks = rng.multinomial(n, sizes / n, size=resamples)
        return np.asarray((picks @ values) / n, dtype=np.float64)
    if n < _CHUNK_CELLS // 500:
        means = [diffs[rng.integers(0, n, size=(rows, n))].mean(axis=1) for rows in _chunks(resamples, n)]
        return np.concatenate(means)
    # many pairs: a resample at a time, 32-bit indices (the same draws: numpy makes bounded integers
    # below 2**32 from 32-bit words whatever the dtype), a third faster than blocks of 64-bit ones
    resampled = np.empty(resamples, dtype=np.float64)
    for i in range(resamples):
        resampled[i] = np.take(diffs, rng.integers(0, n, size=n, dtype=np.uint32)).mean()
    return resampled


def _chunks(total: int, width: int) -> list[int]:
    """Row counts adding up to `total`, each row block holding about `_CHUNK_CELLS` numbers."""
    step = max(1, _CHUNK_CELLS // max(1, width))
    return [min(step, total - start) for start in range(0, total, step)]
