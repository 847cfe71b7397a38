"""The scores part of compare.html: the tables, the pairs not compared, each flip's outputs side by side."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from .page import media_kind, relative_href
from .records import NOTE_PREFIX, RunRecords, pretty_output
from .score_changes import ScoreChanges, ScoreFlip, ScorePair
from .score_text import SCORE_HEADER, group_label, not_compared, pair_cells, score_text

FLIPS_SHOWN = 1_000  # per direction; results.csv has every score
OUTPUT_CHARS = 2_000  # a flip's output text is cut after this many characters


def _table(header: Sequence[str], rows: Sequence[tuple[ScorePair, Sequence[str]]], css: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr class='{pair.verdict}'>{''.join(f'<td>{escape(cell)}</td>' for cell in cells)}</tr>"
        for pair, cells in rows
    )
    return f"<table class='summary {css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _files(record: Mapping[str, str]) -> list[str]:
    try:
        files = json.loads(record.get("files") or "[]")
    except ValueError:
        return []
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def _side(side: str, run: RunRecords, record: Mapping[str, str], flip: ScoreFlip, output: Path) -> str:
    """One run's view of a flipped job: its score and note, its output text, its images and files."""
    value = flip.before if side == "A" else flip.after
    note = record.get(NOTE_PREFIX + flip.scorer, "")
    parts = [f"<figcaption>{side}: {escape(score_text(value))}"]
    if record.get("status") != "succeeded":
        parts.append(f" <span class='bad'>{escape(record.get('status', ''))}</span>")
    parts.append("</figcaption>")
    if note:
        parts.append(f"<div class='note'>{escape(note)}</div>")
    if record.get("error"):
        parts.append(f"<div class='error'>{escape(record['error'])}</div>")
    text = pretty_output(record.get("output", ""))[0]
    if text:
        cut = text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + " …"
        parts.append(f"<pre class='out'>{escape(cut)}</pre>")
    for name in _files(record):
        kind = media_kind(name)
        href = escape(relative_href(os.path.relpath(run.path / name, output.parent)))
        if kind in ("image", "svg"):
            img = f"<img class='thumb' loading='lazy' src='{href}' alt='{side}'>"
            # An SVG may hold script: shown as an <img> (which runs none), never linked (page.py).
            parts.append(f"<a href='{href}' target='_blank'>{img}</a>" if kind == "image" else img)
        elif kind in ("audio", "video", "file"):
            parts.append(f"<div><a href='{href}'>{escape(name)}</a></div>")
        else:
            parts.append(f"<div class='muted'>{escape(name)}</div>")
    return f"<figure>{''.join(parts)}</figure>"


def _flip(flip: ScoreFlip, run_a: RunRecords, run_b: RunRecords, output: Path) -> str:
    css = "bad" if flip.change < 0 else "good"
    change = f"{flip.scorer}: {score_text(flip.before)} → {score_text(flip.after)}"
    sides = _side("A", run_a, flip.record_a, flip, output) + _side("B", run_b, flip.record_b, flip, output)
    return (
        f"<div class='entry flip {css}'><span class='label'>{escape(flip.label)}</span> "
        f"<span class='muted'>{escape(change)}</span><div class='pair'>{sides}</div></div>"
    )


def _flips(title: str, flips: Sequence[ScoreFlip], run_a: RunRecords, run_b: RunRecords, output: Path) -> str:
    entries = [_flip(f, run_a, run_b, output) for f in flips[:FLIPS_SHOWN]]
    if len(flips) > FLIPS_SHOWN:
        entries.append(
            f"<p class='muted'>… and {len(flips) - FLIPS_SHOWN} more: each run's results.csv has every "
            "score</p>"
        )
    inner = "".join(entries) if entries else "<p class='muted'>none</p>"
    return f"<section class='flips'><h2>{escape(title)} ({len(flips)})</h2>{inner}</section>"


def score_sections(changes: ScoreChanges, run_a: RunRecords, run_b: RunRecords, output: Path) -> str:
    """The scores table (and by group), the pairs not compared; empty when neither run has scores."""
    if not (changes.pairs or changes.only_a or changes.only_b):
        return ""
    family = sum(p.result is not None for p in changes.pairs)
    parts = [
        "<section class='scores'><h2>Scores</h2><p class='muted'>Over the jobs both runs have, an unscored "
        "job counting 0; diff is B − A with its 95% interval; two-sided paired test (exact McNemar "
        "and Newcombe's interval for 0/1 scores, else sign-flip permutation and a bootstrap interval; "
        f"a row's repeats and matrix values as one pair: <i>by row</i>), p adjusted by Holm over {family} "
        "comparisons; <b>worse</b>/<b>better</b>: adjusted p &lt; 0.05.</p>",
        _table(SCORE_HEADER, [(p, pair_cells(p)) for p in changes.pairs], "scores"),
        "</section>",
    ]
    if changes.groups:
        rows = [(p, [group_label(p), *pair_cells(p)]) for p in changes.groups]
        parts += [
            "<section class='groups'><h2>Scores by group</h2><p class='muted'>p adjusted by Holm over "
            f"these {sum(p.result is not None for p in changes.groups)} comparisons.</p>",
            _table(["group", *SCORE_HEADER], rows, "groups"),
            "</section>",
        ]
    skipped = not_compared(changes.only_a, changes.only_b)
    if skipped:
        items = "".join(f"<li>{escape(line)}</li>" for line in skipped)
        parts.append(
            f"<section class='not-compared'><h2>Not compared: scored in one run only ({len(skipped)})</h2>"
            f"<ul>{items}</ul></section>"
        )
    return "".join(parts)


def flip_sections(changes: ScoreChanges, run_a: RunRecords, run_b: RunRecords, output: Path) -> str:
    """The jobs whose score flipped, to worse first, with both runs' outputs side by side."""
    if not changes.pairs:
        return ""
    worse = [f for f in changes.flips if f.change < 0]
    better = [f for f in changes.flips if f.change > 0]
    return _flips("Flipped to worse", worse, run_a, run_b, output) + _flips(
        "Flipped to better", better, run_a, run_b, output
    )
