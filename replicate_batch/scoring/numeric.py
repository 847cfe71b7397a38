"""`close_to`: 1 when the output is a number within `tolerance` of the expected number."""

from __future__ import annotations

import math
import re
from typing import Any

from ..spec.problems import show_value
from .config import CloseToEntry
from .facts import Check, JobFacts, filler
from .score import Score, passed, unscored
from .template import parse_template

# Decimal numbers as people and JSON write them; not Python's extras (`1_000`, `nan`, `infinity`).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(value: Any) -> float | None:
    """A finite number from a number or its text (surrounding whitespace ignored), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(text := value.strip()):
        number = float(text)
    else:
        return None
    return number if math.isfinite(number) else None


def close_to(output: float, expected: float, tolerance: float = 0.0) -> Score:
    """1 when |output - expected| <= tolerance."""
    # Numbers written `tolerance` apart in decimal may be a hair further apart in binary floating point.
    slack = 1e-12 * max(1.0, abs(output), abs(expected))
    return passed(abs(output - expected) <= tolerance + slack)


def close_to_check(entry: CloseToEntry) -> Check:
    """`close_to` bound to its entry: an output or expected value that is not a number is unscored."""
    expected_of = filler(parse_template(entry.close_to))

    def check(facts: JobFacts) -> Score:
        text = expected_of(facts)
        if isinstance(text, Score):
            return text
        expected = parse_number(text)
        if expected is None:
            return unscored(f"the expected value is not a number: {show_value(text)}")
        output = parse_number(facts.value)
        if output is None:
            output = parse_number(facts.text)
        if output is None:
            return unscored(f"the output is not a number: {show_value(facts.text)}")
        return close_to(output, expected, entry.tolerance)

    return check
