"""Scores compared, as text: the table rows `compare` prints and compare.html shows, and the flips."""

from __future__ import annotations

from collections.abc import Sequence

from .run_scores import Pair
from .score_changes import ScoreChanges, ScoreFlip, ScorePair

SCORE_HEADER = [
    "model",
    "scorer",
    "jobs",
    "only A/B",
    "mean A",
    "mean B",
    "diff",
    "95% interval",
    "p",
    "p Holm",
    "test",
    "change",
]


def p_text(p: float | None) -> str:
    """A p-value for people: three decimals, `<0.001` below that, `–` when not tested."""
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def score_text(value: float | None) -> str:
    """One job's score: `1`, `0.25`, or `unscored`."""
    return "unscored" if value is None else f"{value:g}"


def pair_cells(pair: ScorePair) -> list[str]:
    """One row of the score table (SCORE_HEADER's columns; a group's row starts with its `field=value`)."""
    r = pair.result
    cells = [pair.model, pair.scorer, str(pair.jobs), f"{pair.only_a}/{pair.only_b}"]
    if r is None:
        return [*cells, "–", "–", "–", "–", "–", "–", "no jobs in both", ""]
    return [
        *cells,
        f"{r.mean_a:.2f}",
        f"{r.mean_b:.2f}",
        f"{r.diff:+.2f}",
        f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]",
        p_text(r.p_value),
        p_text(pair.p_holm),
        pair.test,
        pair.verdict,
    ]


def group_label(pair: ScorePair) -> str:
    """`_category=animals` for a group's row."""
    return f"{pair.group[0]}={pair.group[1]}" if pair.group else ""


def flip_text(flip: ScoreFlip) -> str:
    """`label 1 -> 0` for one flipped job."""
    return f"{flip.scorer} {score_text(flip.before)} -> {score_text(flip.after)}"


def not_compared(only_a: Sequence[Pair], only_b: Sequence[Pair]) -> list[str]:
    """`label · patterns: only in A`, for each (model, scorer) scored in one run."""
    return [
        f"{scorer} · {model}: only in {side}"
        for side, pairs in (("A", only_a), ("B", only_b))
        for model, scorer in pairs
    ]


def aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """A table as lines: the first column left-aligned, the others right-aligned."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return (indent + "  ".join(cells)).rstrip()

    return [line(row) for row in rows]


def score_lines(changes: ScoreChanges, *, listed: int, page_name: str) -> list[str]:
    """The scores part of `compare`'s text: the table, the groups, what was not compared, the flips."""
    if not (changes.pairs or changes.only_a or changes.only_b):
        return []
    lines = [
        "",
        "scores over the jobs in both runs (unscored counts 0); two-sided paired tests, "
        f"p adjusted by Holm over {sum(p.result is not None for p in changes.pairs)} comparisons:",
    ]
    lines += aligned([SCORE_HEADER, *(pair_cells(p) for p in changes.pairs)], "  ")
    if changes.groups:
        family = sum(p.result is not None for p in changes.groups)
        lines.append(f"scores by group (p adjusted by Holm over these {family} comparisons):")
        rows = [["group", *SCORE_HEADER], *([group_label(p), *pair_cells(p)] for p in changes.groups)]
        lines += aligned(rows, "  ")
    if changes.only_a or changes.only_b:
        lines.append("not compared (scored in one run only):")
        lines += [f"  {line}" for line in not_compared(changes.only_a, changes.only_b)]
    for title, flips in (
        ("scores flipped to worse", [f for f in changes.flips if f.change < 0]),
        ("scores flipped to better", [f for f in changes.flips if f.change > 0]),
    ):
        lines.append(f"{title} ({len(flips)}):" if flips else f"{title}: none")
        lines += [f"  {f.label}  {flip_text(f)}" for f in flips[:listed]]
        if len(flips) > listed:
            lines.append(f"  … and {len(flips) - listed} more (see {page_name})")
    return lines
