"""Wilson's score interval for a proportion: for scores that are 0 or 1, each job independent."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The interval for `successes` out of `n` (n > 0); stays inside [0, 1], unlike the normal one."""
    if n <= 0:
        raise ValueError("Wilson's interval needs at least one job")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes the bound on that side is exactly 0 or 1; rounding would leave it a hair off.
    low = 0.0 if successes <= 0 else max(0.0, center - half)
    high = 1.0 if successes >= n else min(1.0, center + half)
    return low, high
