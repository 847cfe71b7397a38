"""`compare.html`: a comparison as a static, self-contained page (changed images side by side).

Its scores part (tables, flips with both outputs) is score_html.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

from .compare import COMPARE_NAME, Comparison, FileChange, StatusChange, model_rows
from .page import media_kind, relative_href
from .page_html import CSP
from .score_html import flip_sections, score_sections
from .static import static_text


def _href(run_path: Path, relative: str, output: Path) -> str:
    return relative_href(os.path.relpath(run_path / relative, output.parent))


def _status(s: StatusChange, css: str) -> str:
    error = f"<div class='error'>{escape(s.error)}</div>" if s.error and s.after != "succeeded" else ""
    if s.before and s.after:
        change = f"{s.before} → {s.after}"
    else:
        change = s.after or s.before if css != "bad" else f"only in B → {s.after}"
    return (
        f"<div class='entry {css}'><span class='label'>{escape(s.label)}</span> "
        f"<span class='muted'>{escape(change)}</span>{error}</div>"
    )


def _file(c: Comparison, f: FileChange, output: Path) -> str:
    name = escape(f.path_b or f.path_a or "")
    shas = f"{escape((f.sha_a or 'missing')[:12])} → {escape((f.sha_b or 'missing')[:12])}"
    line = f"<div>file {name}: sha256 {shas}</div>"
    sides = []
    for side, run, path in (("A", c.run_a, f.path_a), ("B", c.run_b, f.path_b)):
        kind = media_kind(path) if path else ""
        if path and kind in ("image", "svg"):
            href = escape(_href(run.path, path, output))
            img = f"<img class='thumb' loading='lazy' src='{href}' alt='{side}'>"
            # An SVG may hold script: shown as an <img> (which runs none), never linked (report.py).
            shown = f"<a href='{href}' target='_blank'>{img}</a>" if kind == "image" else img
            sides.append(f"<figure>{shown}<figcaption>{side}</figcaption></figure>")
    return line + (f"<div class='pair'>{''.join(sides)}</div>" if sides else "")


def _diff(lines: Sequence[str]) -> str:
    if not lines:
        return ""
    css = {"+": "add", "-": "del"}
    body = "\n".join(f"<span class='{css.get(ln[:1], '')}'>{escape(ln)}</span>" for ln in lines)
    return f"<pre class='diff'>{body}</pre>"


def _block(title: str, entries: Sequence[str]) -> str:
    inner = "".join(entries) if entries else "<p class='muted'>none</p>"
    return f"<section><h2>{escape(title)} ({len(entries)})</h2>{inner}</section>"


def render_comparison(c: Comparison, output: Path) -> str:
    """The page, with file links relative to where it will be written (`output`)."""
    table = model_rows(c)
    head = "".join(f"<th>{escape(h)}</th>" for h in table[0])
    body = "".join(
        f"<tr class='{'total' if row[0] == 'total' else ''}'>{''.join(f'<td>{escape(x)}</td>' for x in row)}"
        "</tr>"
        for row in table[1:]
    )
    changed = [
        f"<div class='entry'><span class='label'>{escape(ch.label)}</span>{_diff(ch.diff)}"
        f"{''.join(_file(c, f, output) for f in ch.files)}</div>"
        for ch in c.changed
    ]
    a, b = escape(str(c.run_a.path)), escape(str(c.run_b.path))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>compare {escape(c.run_a.run_id)} → {escape(c.run_b.run_id)}</title>
<style>
{static_text("report.css")}
{static_text("compare.css")}</style></head>
<body>
<header><h1>{escape(c.run_a.run_id)} → {escape(c.run_b.run_id)}</h1>
<div class="meta-line">A: {a} · B: {b} · {c.matched} jobs in both, {len(c.only_a)} only in A,
{len(c.only_b)} only in B</div></header>
{score_sections(c.scores, c.run_a, c.run_b, output)}
<section><h2>Per model</h2><table class="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
</section>
{_block("New failures", [_status(s, "bad") for s in c.new_failures])}
{_block("Fixed failures", [_status(s, "good") for s in c.fixed])}
{flip_sections(c.scores, c.run_a, c.run_b, output)}
{_block("Outputs changed", changed)}
{_block("Only in A", [_status(s, "") for s in c.only_a])}
{_block("Only in B", [_status(s, "") for s in c.only_b])}
</body></html>
"""


def write_comparison(c: Comparison, output: Path | None = None) -> Path:
    """Write `compare.html` (into B's run folder unless `output` says where); returns its path."""
    target = output or c.run_b.path / COMPARE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_comparison(c, target), encoding="utf-8")
    return target
