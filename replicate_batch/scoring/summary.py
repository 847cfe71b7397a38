"""The aggregates as the end-of-run summary shows them: a column per scorer, a table per `group_by` field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


_NOTE_SHOWN = 160  # characters of a note the summary shows (a judge's reply can be long)


def unscored_lines(
    stats: Sequence[ModelStats], aggregates: Aggregates, notes: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """A line per model and scorer that left some succeeded job unscored: how many, and the first
    one's note (`notes`: the board's `unscored_notes`). Such a job counts 0 in the mean as a failed
    one does, so the summary says so rather than let that 0 pass for a score."""
    succeeded = {s.model: s.succeeded for s in stats}
    lines = []
    for model, scorers in aggregates.items():
        for name, aggregate in scorers.items():
            left = succeeded.get(model, 0) - aggregate.scored
            if left <= 0:
                continue
            line = f"  {model} / {name}: {left} of {succeeded[model]} succeeded jobs"
            note = " ".join(notes.get(model, {}).get(name, "").split())
            if note:
                shown = note if len(note) <= _NOTE_SHOWN else note[: _NOTE_SHOWN - 1] + "…"
                line += f"; first note: {shown}"
            lines.append(line)
    return ["unscored, each counting 0 in its model's mean:", *lines] if lines else []


def scored_summary(
    stats: Sequence[ModelStats],
    aggregates: Aggregates,
    groups: GroupAggregates,
    names: Sequence[str],
    unscored: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The summary table with a column per scorer, then the group tables (if any), then the
    succeeded jobs left unscored (`unscored`: the first note per model and scorer)."""
    parts = [summary_table(stats, score_columns(aggregates, names))]
    below = group_tables(groups, names)
    if below:
        parts.append(below)
    left = unscored_lines(stats, aggregates, unscored or {})
    if left:
        parts.append("\n".join(left))
    return "\n\n".join(parts)
