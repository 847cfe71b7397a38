"""`history.html`: per spec its runs and, per scorer, an inline-SVG chart and a table of every run's scores.

The page is one file with no script and nothing to load (its Content-Security-Policy forbids it): it
works from `file://`, mailed or archived. Every text taken from the runs is escaped (svg_chart.py
escapes the chart's own).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from ..scoring.board import scored_text
from .history import HISTORY_NAME, HistoryRun, SpecHistory
from .history_text import runs_rows, started_text
from .run_scores import Group
from .static import static_text
from .svg_chart import ChartPoint, ChartSeries, line_chart_svg

# No script, no network: styles inline, the charts inline SVG.
HISTORY_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MARKS = {"worse": "▼", "better": "▲"}
MARKER_NOTE = "significant change from the run before (paired test, Holm-adjusted p < 0.05)"


def _row(cells: Sequence[str], css: str = "") -> str:
    return f"<tr class='{css}'>{''.join(cells)}</tr>"


def _table(header: Sequence[str], rows: Sequence[str], css: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return (
        f"<table class='summary {css}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(run: HistoryRun, model: str, scorer: str, group: Group | None = None) -> str:
    summary = run.summary(model, scorer, group)
    if summary is None:
        return "<td class='muted'>–</td>"
    verdict = run.changes.get((model, scorer), "") if group is None else ""
    mark = f" <span class='mark'>{MARKS[verdict]}</span>" if verdict else ""
    scored = scored_text(summary.scored, summary.n)
    unscored = f"<span class='muted'>{escape(scored)}</span>" if scored else ""
    return f"<td class='{verdict}'>{escape(summary.text)}{unscored}{mark}</td>"


def _run_cell(run: HistoryRun) -> str:
    return f"<td title='{escape(started_text(run))}'>{escape(run.run_id)}</td>"


def _chart(history: SpecHistory, scorer: str) -> str:
    series = []
    for model in history.models(scorer):
        points: list[ChartPoint | None] = []
        for run in history.runs:
            summary = run.summary(model, scorer)
            if summary is None or summary.mean is None:
                points.append(None)
                continue
            significant = (model, scorer) in run.changes
            points.append(ChartPoint(summary.mean, summary.ci_low, summary.ci_high, significant))
        if any(points):
            series.append(ChartSeries(model, points))
    labels = [run.label for run in history.runs]
    return line_chart_svg(labels, series, title=f"{history.name} · {scorer}", marker_note=MARKER_NOTE)


def _scorer(history: SpecHistory, scorer: str) -> str:
    models = history.models(scorer)
    rows = [_row([_run_cell(r), *(_cell(r, m, scorer) for m in models)]) for r in history.runs]
    parts = [
        f"<section class='scorer'><h3>{escape(scorer)}</h3>",
        f"<div class='chart'>{_chart(history, scorer)}</div>",
        _table(["run", *models], rows, "history"),
    ]
    for field in dict.fromkeys(f for f, _ in history.groups):
        values = [g for g in history.groups if g[0] == field]
        grouped = [
            _row(
                [
                    _run_cell(run),
                    f"<td>{escape(group[1])}</td>",
                    *(_cell(run, m, scorer, group) for m in models),
                ]
            )
            for run in history.runs
            for group in values
            if any(run.summary(m, scorer, group) for m in models)
        ]
        parts += [
            f"<h4>{escape(scorer)} by {escape(field)}</h4>",
            _table(["run", field, *models], grouped, "groups"),
        ]
    parts.append("</section>")
    return "".join(parts)


def _spec(history: SpecHistory, index: int) -> str:
    header, *rows = runs_rows(history)
    run_rows = [_row([f"<td>{escape(cell)}</td>" for cell in row]) for row in rows]
    scorers = "".join(_scorer(history, s) for s in history.scorers)
    if not scorers:
        scorers = "<p class='muted'>No scores: the runs' specs have no scorers.</p>"
    return (
        f"<section class='spec' id='spec-{index}'><h2>{escape(history.name)}</h2>"
        f"<p class='muted'>{len(history.runs)} runs, oldest first. Each score is the run's mean with its 95% "
        "interval; ▼/▲ and a ring on the chart: a significant change from the run before, as "
        "<code>compare</code> would call it.</p>"
        f"<details open><summary>Runs</summary>{_table(header, run_rows, 'runs')}</details>"
        f"{scorers}</section>"
    )


def render_history(histories: Sequence[SpecHistory], root: Path) -> str:
    """The page: a section per spec."""
    toc = "".join(
        f"<li><a href='#spec-{i}'>{escape(h.name)}</a> ({len(h.runs)} runs)</li>"
        for i, h in enumerate(histories)
    )
    sections = "".join(_spec(h, i) for i, h in enumerate(histories))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{HISTORY_CSP}">
<title>history · {escape(str(root))}</title>
<style>
{static_text("report.css")}
{static_text("history.css")}</style></head>
<body>
<header><h1>History</h1><div class="meta-line">runs below {escape(str(root))}</div><ul class="toc">{toc}</ul>
</header>
{sections}
</body></html>
"""


def write_history(histories: Sequence[SpecHistory], root: Path, output: Path | None = None) -> Path:
    """Write `history.html` (into `root` unless `output` says where); returns its path."""
    target = output or root / HISTORY_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_history(histories, root), encoding="utf-8")
    return target
