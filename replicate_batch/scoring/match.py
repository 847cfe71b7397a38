"""`equals`, `contains` and `one_of`: the output compared with text, whitespace around both ignored.

Each check runs for every job and scorer, so the comparisons are `operator`'s, in C.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from .config import ContainsEntry, EqualsEntry, OneOfEntry
from .facts import Check, JobFacts, filler
from .score import ONE, ZERO, Score
from .template import parse_template


def equals_check(entry: EqualsEntry) -> Check:
    """`equals` bound to its entry: 1 when the output is the expected text."""
    return _template_check(entry.equals, entry.ignore_case, operator.eq)


def contains_check(entry: ContainsEntry) -> Check:
    """`contains` bound to its entry: 1 when the output contains the expected text."""
    return _template_check(entry.contains, entry.ignore_case, operator.contains)


def _template_check(text: str, ignore_case: bool, test: Callable[[str, str], bool]) -> Check:
    """1 when `test(output, expected)` holds, `expected` being the template rendered for the job."""
    expected_of = filler(parse_template(text))

    def check(facts: JobFacts) -> Score:
        expected = expected_of(facts)
        if isinstance(expected, Score):
            return expected  # unscored: the template's value is missing
        output, expected = facts.text.strip(), expected.strip()
        if ignore_case:
            output, expected = output.casefold(), expected.casefold()
        return ONE if test(output, expected) else ZERO

    return check


def one_of_check(entry: OneOfEntry) -> Check:
    """`one_of` bound to its entry (its items are literal): 1 when the output is one of the items."""
    ignore_case = entry.ignore_case
    items = frozenset(item.strip().casefold() if ignore_case else item.strip() for item in entry.one_of)

    def check(facts: JobFacts) -> Score:
        output = facts.text.strip()
        return ONE if (output.casefold() if ignore_case else output) in items else ZERO

    return check
