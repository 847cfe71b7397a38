"""`regex`: 1 when a Python regular expression is found in the output (`re.search`)."""

from __future__ import annotations

import re

from .config import RegexEntry
from .facts import Check, JobFacts
from .score import ONE, ZERO, Score


def regex_check(entry: RegexEntry) -> Check:
    """`regex` bound to its entry (the pattern is literal, compiled once): 1 when the pattern is found
    in the output, whitespace around it stripped."""
    search = re.compile(entry.regex).search

    def check(facts: JobFacts) -> Score:
        return ZERO if search(facts.text.strip()) is None else ONE

    return check
