"""`equals`, `contains` and `one_of`: the output compared with text, whitespace around both ignored."""

from __future__ import annotations

from collections.abc import Sequence

from .config import ContainsEntry, EqualsEntry, OneOfEntry
from .facts import Check, JobFacts, fill
from .score import Score, passed
from .template import parse_template


def _norm(text: str, ignore_case: bool) -> str:
    text = text.strip()
    return text.casefold() if ignore_case else text


def equals(output: str, expected: str, *, ignore_case: bool = False) -> Score:
    """1 when the output is the expected text."""
    return passed(_norm(output, ignore_case) == _norm(expected, ignore_case))


def contains(output: str, expected: str, *, ignore_case: bool = False) -> Score:
    """1 when the output contains the expected text."""
    return passed(_norm(expected, ignore_case) in _norm(output, ignore_case))


def one_of(output: str, items: Sequence[str], *, ignore_case: bool = False) -> Score:
    """1 when the output is one of the items."""
    text = _norm(output, ignore_case)
    return passed(any(text == _norm(item, ignore_case) for item in items))


def equals_check(entry: EqualsEntry) -> Check:
    """`equals` bound to its entry."""
    template = parse_template(entry.equals)

    def check(facts: JobFacts) -> Score:
        expected = fill(template, facts)
        if isinstance(expected, Score):
            return expected
        return equals(facts.text, expected, ignore_case=entry.ignore_case)

    return check


def contains_check(entry: ContainsEntry) -> Check:
    """`contains` bound to its entry."""
    template = parse_template(entry.contains)

    def check(facts: JobFacts) -> Score:
        expected = fill(template, facts)
        if isinstance(expected, Score):
            return expected
        return contains(facts.text, expected, ignore_case=entry.ignore_case)

    return check


def one_of_check(entry: OneOfEntry) -> Check:
    """`one_of` bound to its entry (its items are literal)."""
    items = frozenset(_norm(item, entry.ignore_case) for item in entry.one_of)

    def check(facts: JobFacts) -> Score:
        return passed(_norm(facts.text, entry.ignore_case) in items)

    return check
