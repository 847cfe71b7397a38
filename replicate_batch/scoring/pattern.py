"""`regex`: 1 when a Python regular expression is found in the output (`re.search`)."""

from __future__ import annotations

import re

from .config import RegexEntry
from .facts import Check, JobFacts
from .score import Score, passed


def matches(output: str, pattern: re.Pattern[str]) -> Score:
    """1 when the pattern is found in the output, whitespace around it stripped."""
    return passed(pattern.search(output.strip()) is not None)


def regex_check(entry: RegexEntry) -> Check:
    """`regex` bound to its entry (the pattern is literal, compiled once)."""
    pattern = re.compile(entry.regex)

    def check(facts: JobFacts) -> Score:
        return matches(facts.text, pattern)

    return check
