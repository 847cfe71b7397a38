"""The report page's markup: static parts rendered here, the grid drawn in the browser.

The page's style and script are package data, `static/report.css` and `static/report.js`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..runfolder.manifest import Manifest
from ..scoring.statistics import interval_text
from .selection import Selection
from .static import static_text
from .stats import ModelStats

# Nothing may load from the network: only the page's own inline code, and files beside it.
CSP = (
    "default-src 'none'; img-src 'self' file: data:; media-src 'self' file: data:; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)


# What the "only jobs that scored below 1" filter shows (below_one.py; report.js says the same).
BELOW_ONE = (
    "Jobs with a score below 1, or none, under a scorer that applies to their model: failed, canceled "
    "and unscored jobs count 0 in the mean, so these are the jobs that pull a mean down. With "
    '"only failed and canceled" also checked, the grid shows the jobs of either.'
)


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _summary(
    models: Sequence[Mapping[str, str]],
    stats: Sequence[ModelStats],
    scores: Mapping[str, Any],
    names: list[str],
) -> str:
    refs = {m["name"]: m for m in models}
    tokens = any(s.reports_tokens for s in stats)  # columns only where some prediction reported them
    titles = ["model", "ref", "jobs", "succeeded", "failed", "canceled", "median wall s", "p90 wall s"]
    titles += ["predict s", *(("input tokens", "output tokens", "median first token s") if tokens else ())]
    titles += names
    head = "".join(f"<th class='{'ref' if h == 'ref' else ''}'>{escape(h)}</th>" for h in titles)
    lines = []
    for s in stats:
        ref = refs.get(s.model, {})
        version = f" <span class='muted'>{escape(ref['version'][:12])}</span>" if ref.get("version") else ""
        cells = [
            f"<td>{escape(s.model)}</td><td class='ref'>{escape(ref.get('ref', ''))}{version}</td>",
            f"<td>{s.jobs}</td><td>{s.succeeded}</td>",
            f"<td class='{'bad' if s.failed else ''}'>{s.failed}</td>",
            f"<td class='{'bad' if s.canceled else ''}'>{s.canceled}</td>",
            f"<td>{_secs(s.median_wall_s)}</td><td>{_secs(s.p90_wall_s)}</td><td>{s.predict_s:.2f}</td>",
        ]
        if tokens:
            cells.append(
                f"<td>{_count(s.input_tokens)}</td><td>{_count(s.output_tokens)}</td>"
                f"<td>{_secs(s.median_first_token_s)}</td>"
            )
        cells += [_score_cell(scores.get(s.model, {}).get(name), s.model == "total") for name in names]
        lines.append(f"<tr class='{'total' if s.model == 'total' else ''}'>{''.join(cells)}</tr>")
    return f"<table class='summary'><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _score_cell(aggregate: Any, total: bool) -> str:
    """`mean [ci_low, ci_high]` for a manifest `scores` entry; its counts and gate on hover."""
    if not isinstance(aggregate, Mapping):
        return "<td class='muted'></td>" if total else "<td class='muted'>–</td>"
    shown = interval_text(aggregate.get("mean"), aggregate.get("ci_low"), aggregate.get("ci_high"))
    about = f"{aggregate.get('scored')} of {aggregate.get('n')} jobs scored, {aggregate.get('rows')} rows"
    about += f", 95% interval: {aggregate.get('method')}"
    if aggregate.get("threshold") is not None:
        about += f", threshold {aggregate['threshold']}: {'met' if aggregate.get('passed') else 'NOT met'}"
    classes = "score bad" if aggregate.get("passed") is False else "score"
    scored, jobs, partial = aggregate.get("scored"), aggregate.get("n"), ""
    if isinstance(scored, int) and isinstance(jobs, int) and scored < jobs:
        # Shown after the cell's text by the stylesheet (`::after`), so that text stays the interval.
        classes += " partial"
        partial = f" data-scored='{scored} of {jobs} scored'"
    return f"<td class='{classes}'{partial} title='{escape(about)}'>{escape(shown)}</td>"


def _groups(scores_by: Mapping[str, Any], names: list[str]) -> str:
    """A table per `group_by` field: a line per (value, model), a column per scorer."""
    sections = []
    for field, values in scores_by.items():
        if not isinstance(values, Mapping):
            continue
        head = "".join(f"<th>{escape(h)}</th>" for h in (field, "model", *names))
        lines = []
        for value, by_model in values.items():
            for model, scores in by_model.items() if isinstance(by_model, Mapping) else ():
                cells = "".join(_score_cell(scores.get(name), False) for name in names)
                lines.append(f"<tr><td>{escape(value)}</td><td>{escape(model)}</td>{cells}</tr>")
        sections.append(
            f"<h2>Scores by {escape(field)}</h2><table class='summary groups'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(lines)}</tbody></table>"
        )
    return "".join(sections)


def _meta(manifest: Manifest) -> str:
    parts = []
    for key in ("spec", "started_at", "finished_at", "status"):
        if value := getattr(manifest, key):
            parts.append(f"{key.replace('_', ' ')}: {escape(str(value))}")
    if manifest.versions:
        parts.append(" ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in manifest.versions.items()))
    return " · ".join(parts)


def _share(shown: int, total: int, jobs: str, which: str) -> str:
    """What the banner says of one kind of job the grid prefers: all of them, or which of them."""
    if not total:
        return ""
    if shown == total:
        return f"all {total:,} {jobs}, with the rest of their rows"
    return f"{shown:,} of the {total:,} {jobs} ({which}), with the rest of their rows"


def _banner(shown: Selection, rows: int, scored: bool) -> str:
    """Says that the grid shows part of the run, which part, and where the rest is."""
    n, total = f"{len(shown.records):,}", f"{shown.jobs:,}"
    parts = [
        part
        for part in (
            _share(shown.failed_shown, shown.failed, "failed or canceled jobs", "the first in input order"),
            _share(
                shown.below_one_shown,
                shown.below_one,
                "jobs that scored below 1",
                "those in rows with failures, then the first in input order",
            ),
        )
        if part
    ]
    if shown.other_rows:
        parts.append(f"the first {shown.other_rows:,} other grid rows in input order")
    what = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
    what = what or f"{rows:,} grid rows"
    return (
        f"<div class='banner' id='partial' role='note'><b>Showing {n} of {total} results</b>: {what}. "
        f"Every result is in <a href='results.csv'>results.csv</a> beside this file. The summary above "
        f"counts all {total}; the {'filters' if scored else 'failed-only filter'} and the sorting act on "
        f"the {n} shown.</div>"
    )


def _score_options(names: Sequence[str], models: Sequence[Mapping[str, str]], applies: Any) -> str:
    """Sorting by score: per scorer, each row's mean over its jobs (unscored ones 0), lowest or highest
    first; and lowest first for each model, when the scorer applies to several (report.js, `order`)."""
    options = []
    for s, name in enumerate(names):
        options.append(f"<option value='low:{s}'>score {escape(name)}, lowest first</option>")
        options.append(f"<option value='high:{s}'>score {escape(name)}, highest first</option>")
        scored = [m for m in range(len(models)) if s in applies[m]]
        options += [
            f"<option value='low:{s}:{m}'>score {escape(name)} of {escape(models[m]['name'])}, lowest first"
            "</option>"
            for m in scored
            if len(scored) > 1
        ]
    return "".join(options)


def render_page(
    run_id: str,
    manifest: Manifest,
    models: Sequence[Mapping[str, str]],
    stats: Sequence[ModelStats],
    data: Mapping[str, Any],
    shown: Selection,
    scorer_names: Sequence[str] = (),
) -> str:
    """The report page: header, summary table, controls, an empty grid and the data to fill it.

    `shown` says which of the run's jobs `data` holds; when not all, a banner says so. The summary
    has a column per scorer (`scorer_names`, results.csv's order) from the manifest's `scores`.
    """
    names = list(scorer_names)
    summary = _summary(models, stats, manifest.scores or {}, names) + _groups(manifest.scores_by or {}, names)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    header_cells = "".join(
        f"<div role='columnheader'>{escape(m['name'])}<div class='muted'>{escape(m['ref'])}</div>"
        f"<div class='muted'>{escape(m['defaults'])}</div></div>"
        for m in models
    )
    options = "".join(
        f"<option value='slow:{i}'>wall time of {escape(m['name'])}, slowest first</option>"
        for i, m in enumerate(models)
    )
    failed, jobs, banner = f"{shown.failed:,}", f"{len(data['jobs']):,} jobs", ""
    low = f"{shown.below_one:,}"
    if not shown.is_complete:
        failed = f"{shown.failed_shown:,} of {shown.failed:,} shown"
        low = f"{shown.below_one_shown:,} of {shown.below_one:,} shown"
        jobs = f"{len(data['jobs']):,} of {shown.jobs:,} jobs shown"
        banner = _banner(shown, len(data["rows"]), bool(names))
    low_filter = (
        f"\n<label title='{escape(BELOW_ONE)}'><input type='checkbox' id='low-only'> only jobs that scored "
        f"below 1 ({low})</label>"
        if names
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(run_id)} · replicate_batch report</title>
<style>
{static_text("report.css")}</style></head>
<body>
<header><h1>{escape(run_id)}</h1><div class="meta-line">{_meta(manifest)}</div></header>
<section><h2>Summary</h2>{summary}</section>
{banner}<div class="controls">
<label><input type="checkbox" id="failed-only"> only failed and canceled ({failed})</label>{low_filter}
<label>sort <select id="sort"><option value="input">input order</option>
<option value="slow">wall time, slowest first</option><option value="fast">wall time, fastest first</option>
{options}{_score_options(names, models, data["applies"])}</select></label>
<span class="muted">{len(data["rows"]):,} rows · {jobs} · times: wall clock, then model
(predict_time) · click an image for full size</span>
</div>
<noscript><p>The grid needs JavaScript; the data is in results.csv beside this file.</p></noscript>
<div id="grid" role="table" style="--models:{len(models)}">
<div class="gridrow head" role="row"><div role="columnheader">inputs</div>{header_cells}</div>
<div id="rows" role="rowgroup"></div></div>
<script type="application/json" id="data">{payload}</script>
<script>
{static_text("report.js")}</script>
</body></html>
"""
