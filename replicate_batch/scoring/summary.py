"""The aggregates as the end-of-run summary shows them: a column per scorer, a table per `group_by` field."""

from __future__ import annotations

from collections.abc import Sequence

from ..execution.progress import fixed_width, summary_table
from ..reports.stats import ModelStats
from .board import Aggregates, GroupAggregates


def score_columns(aggregates: Aggregates, names: Sequence[str]) -> dict[str, dict[str, str]]:
    """Per scorer (in `names` order, those with jobs): model -> `mean [ci_low, ci_high]`."""
    columns: dict[str, dict[str, str]] = {}
    for name in names:
        cells = {model: scorers[name].text for model, scorers in aggregates.items() if name in scorers}
        if cells:
            columns[name] = cells
    return columns


def group_tables(groups: GroupAggregates, names: Sequence[str]) -> str:
    """One table per group field: a line per (value, model), a column per scorer; empty without groups."""
    tables = []
    for field, values in groups.items():
        columns = [n for n in names if any(n in s for a in values.values() for s in a.values())]
        lines: list[tuple[str, ...]] = [(field, "model", *columns)]
        for value, aggregates in values.items():
            for model, scorers in aggregates.items():
                cells = (scorers[n].text if n in scorers else "-" for n in columns)
                lines.append((value or '""', model, *cells))
        tables.append(fixed_width(lines, left=2))
    return "\n\n".join(tables)


def scored_summary(
    stats: Sequence[ModelStats], aggregates: Aggregates, groups: GroupAggregates, names: Sequence[str]
) -> str:
    """The summary table with a column per scorer, then the group tables (if any) below it."""
    table = summary_table(stats, score_columns(aggregates, names))
    below = group_tables(groups, names)
    return f"{table}\n\n{below}" if below else table
