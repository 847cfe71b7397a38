"""Binomial and multinomial draws in pure Python, seeded, for the bootstrap of few kinds of rows.

Scores of a few distinct values (pass/fail from a python scorer or a judge, 0/1 scores repeated) need
only one multinomial draw per resample, not a draw per row, so numpy is not worth its import there
(about 22 MB of memory and a tenth of a second). Large counts use Hörmann's transformed rejection
with squeeze (BTRS: W. Hörmann, "The generation of binomial random variates", Journal of Statistical
Computation and Simulation 46, 1993), small ones inversion.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

_INVERSION_MEAN = 10.0  # below this mean (n·p, p <= 1/2) inversion is as fast as rejection


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A draw of Binomial(n, p): successes in n trials of chance p."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    if n * p < _INVERSION_MEAN:
        return _inversion(rng, n, p)
    return _btrs(rng, n, p)


def _inversion(rng: random.Random, n: int, p: float) -> int:
    """Walk the distribution from 0 until a uniform draw is used up (expected n·p + 1 steps)."""
    q = 1.0 - p
    ratio = p / q
    chance = q**n  # P(X = 0); n·p < 10 keeps it above e**-10 or so
    u = rng.random()
    k = 0
    while u > chance and k < n:
        u -= chance
        k += 1
        chance *= ratio * (n - k + 1) / k  # P(X = k) from P(X = k - 1)
    return k


def _btrs(rng: random.Random, n: int, p: float) -> int:
    """Hörmann's BTRS for n·p >= 10 and p <= 1/2."""
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / q)
    m = math.floor((n + 1) * p)
    h = math.lgamma(m + 1) + math.lgamma(n - m + 1)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:  # the squeeze: accepted without a logarithm
            return k
        v *= alpha / (a / (us * us) + b)
        if math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - m) * lpq:
            return k


def multinomial(rng: random.Random, n: int, weights: Sequence[int]) -> list[int]:
    """A draw of n items among len(weights) kinds, kind i with chance weights[i] / sum(weights):
    a binomial per kind, of what is left among the kinds not drawn yet."""
    drawn = []
    left, rest = n, sum(weights)
    for weight in weights[:-1]:
        count = binomial(rng, left, weight / rest) if rest > 0 else 0
        drawn.append(count)
        left -= count
        rest -= weight
    drawn.append(left)
    return drawn
