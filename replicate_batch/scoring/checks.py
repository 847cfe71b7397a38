"""What the preflight checks about scoring, for a run and for `rescore` alike: `scorers:` and `group_by:`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..spec.problems import did_you_mean
from .parse import parse_scorers
from .scorer import AnyScorer


def check_scoring(
    scorers: Any,
    group_by: Sequence[str],
    *,
    spec_dir: Path,
    model_names: Collection[str],
    value_names: Sequence[str],
    metadata_names: Sequence[str],
    source: str,
) -> tuple[tuple[AnyScorer, ...], list[Problem]]:
    """The checked scorers (python files loaded once), or every problem with them and with `group_by`."""
    checked, problems = parse_scorers(
        scorers,
        spec_dir=spec_dir,
        model_names=model_names,
        row_fields=[*value_names, *metadata_names],
        source=source,
    )
    problems += group_by_problems(group_by, metadata_names, source)
    return (checked if not problems else ()), problems


def group_by_problems(group_by: Sequence[str], metadata_names: Sequence[str], source: str) -> list[Problem]:
    """A problem for each `group_by` entry that is not a row metadata field, or is named twice."""
    problems = []
    for index, name in enumerate(group_by):
        place = f"group_by[{index}]"
        if name in group_by[:index]:
            problems.append(Problem(source, place, f"`{name}` is listed twice"))
        elif name not in metadata_names:
            fields = ", ".join(metadata_names) or "none"
            hint = did_you_mean(name, metadata_names) or f": the rows' metadata fields are {fields}"
            message = f"no row has a metadata field `{name}`{hint}"
            if not name.startswith("_"):
                message += " (group by row metadata: fields whose name starts with `_`)"
            problems.append(Problem(source, place, message))
    return problems
