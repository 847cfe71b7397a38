"""Checked scorers, ready to score: `Scorer` scores a job from its output, `Judge` needs a prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import (
    CloseToEntry,
    ContainsEntry,
    EqualsEntry,
    JsonSchemaEntry,
    OneOfEntry,
    OutputSpec,
    PythonEntry,
    RegexEntry,
)
from .facts import Check, JobFacts, pick_field
from .judge import Judge
from .match import contains_check, equals_check, one_of_check
from .numeric import close_to_check
from .pattern import regex_check
from .python import ScorerFunction, python_check
from .schema import json_schema_check
from .score import Score


@dataclass(frozen=True)
class Scorer:
    """A checked scorer of any kind but `judge`: it scores a job from the job alone."""

    entry: OutputSpec
    place: str  # `scorers[3]`
    check: Check

    @property
    def name(self) -> str:
        """The scorer's name (column `score.<name>`)."""
        return self.entry.name


AnyScorer = Scorer | Judge


def scorer_from(entry: OutputSpec, place: str, function: ScorerFunction | None = None) -> Scorer:
    """A Scorer for a validated entry; a `python` entry needs its loaded function."""
    check: Check
    if isinstance(entry, EqualsEntry):
        check = equals_check(entry)
    elif isinstance(entry, ContainsEntry):
        check = contains_check(entry)
    elif isinstance(entry, RegexEntry):
        check = regex_check(entry)
    elif isinstance(entry, OneOfEntry):
        check = one_of_check(entry)
    elif isinstance(entry, CloseToEntry):
        check = close_to_check(entry)
    elif isinstance(entry, JsonSchemaEntry):
        check = json_schema_check(entry)
    elif isinstance(entry, PythonEntry):
        if function is None:
            raise ValueError(f"{place}: a python scorer needs its loaded function")
        check = python_check(function)
    else:
        raise TypeError(f"{place}: not a scorer entry: {entry!r}")
    return Scorer(entry=entry, place=place, check=check)


def applies_to(scorer: AnyScorer, model: str) -> bool:
    """Whether the scorer scores this model's jobs (`models:`, default every model)."""
    models = scorer.entry.models
    return models is None or model in models


def is_binary(scorer: AnyScorer) -> bool:
    """Whether every score is 0 or 1: deterministic kinds, and judges whose choices are all 0 or 1."""
    if isinstance(scorer, Judge):
        choices = scorer.entry.choices
        return choices is not None and all(value in (0, 1) for value in choices.values())
    return not isinstance(scorer.entry, PythonEntry)


def score_job(
    scorer: Scorer,
    *,
    output_text: str,
    output_value: Any,
    row: Mapping[str, Any],
    input: Mapping[str, Any],
    files: Sequence[Path],
    model: str,
) -> Score | None:
    """One succeeded job's score, or None when the scorer does not apply to its model. Never raises."""
    if not isinstance(scorer, Scorer):
        raise TypeError("a judge needs a prediction: use render_judge_input and read_reply")
    if not applies_to(scorer, model):
        return None
    facts = JobFacts.of(
        output_text=output_text, output_value=output_value, row=row, input=input, files=files, model=model
    )
    return score_facts(scorer, facts)


def score_facts(scorer: Scorer, facts: JobFacts) -> Score:
    """A job's score from its facts (built once for every scorer of the job); `field:` read first."""
    if scorer.entry.field is not None:
        picked = pick_field(facts, scorer.entry.field)
        if isinstance(picked, Score):
            return picked
        facts = picked
    return scorer.check(facts)
