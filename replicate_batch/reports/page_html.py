"""The report page's markup, style and script: static parts rendered here, the grid drawn in the browser."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..runfolder.manifest import Manifest
from .selection import Selection
from .stats import ModelStats

# Nothing may load from the network: only the page's own inline code, and files beside it.
CSP = (
    "default-src 'none'; img-src 'self' file: data:; media-src 'self' file: data:; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)

STYLE = """
:root{--ok:#1a7f37;--bad:#cf222e;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328}
header,section{padding:12px 20px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:16px 0 8px}
.muted,.meta-line{color:var(--muted)}
table{border-collapse:collapse}
.summary td,.summary th{border-bottom:1px solid var(--line);padding:4px 10px;text-align:right}
.summary td:first-child,.summary th:first-child,.summary .ref{text-align:left}
.summary tr.total td{font-weight:600}
.bad{color:var(--bad)}
.controls{display:flex;gap:18px;align-items:center;flex-wrap:wrap;position:sticky;top:0;background:#fff;
 z-index:3;padding:8px 20px;border-bottom:1px solid var(--line)}
#grid{margin:0 20px 40px;width:max-content}
.gridrow{display:grid;grid-template-columns:280px repeat(var(--models),320px)}
.gridrow>div{border:1px solid var(--line);margin:0 -1px -1px 0;padding:6px;min-width:0}
.gridrow.head{position:sticky;top:44px;background:var(--bg);z-index:2;font-weight:600}
.gridrow.head .muted{font-weight:normal}
#rows>.gridrow{content-visibility:auto;contain-intrinsic-size:auto 220px}
.rowid{font-weight:600}
.tag{display:inline-block;background:var(--bg);border:1px solid var(--line);border-radius:9px;
 padding:0 6px;margin:0 4px 2px 0;font-size:12px}
.input{margin-top:4px;overflow-wrap:anywhere}
.input b{font-weight:600;color:var(--muted)}
.input.meta b{font-style:italic}
.job{padding:4px;border-radius:6px;margin-bottom:6px;border-left:4px solid var(--ok)}
.job.failed,.job.canceled{border-left-color:var(--bad);background:#fff0f0}
.job .head{font-size:12px;color:var(--muted);margin-bottom:4px}
.job .status{font-weight:600;color:var(--ok)}
.job.failed .status,.job.canceled .status,.error{color:var(--bad)}
.error{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
pre.text{font:12px/1.4 ui-monospace,monospace;margin:0;background:var(--bg);padding:4px}
button.play{font-size:12px;margin:2px 0}
button.more{border:0;background:none;color:#0969da;cursor:pointer;padding:2px 0;font-size:12px}
.media{display:flex;flex-wrap:wrap;gap:4px;margin-bottom:4px}
img.thumb{max-width:150px;max-height:150px;min-width:24px;min-height:24px;display:block;
 border:1px solid var(--line);background:var(--bg)}
audio{width:100%}
video{max-width:100%;max-height:220px}
#grid.failed-only .job.succeeded,#grid.failed-only .gridrow.all-ok{display:none}
.banner{margin:0 20px 12px;padding:8px 12px;border:1px solid #d4a72c;border-radius:6px;background:#fff8c5}
"""

SCRIPT = """
(() => {
const D = JSON.parse(document.getElementById('data').textContent);
const grid = document.getElementById('grid'), body = document.getElementById('rows');
const sortBy = document.getElementById('sort'), failedOnly = document.getElementById('failed-only');
const FIRST = 50, CHUNK = 250, LONG = 600, LINES = 12, PREVIEW = 400;
const E = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
const esc = s => String(s).replace(/[&<>"']/g, c => E[c]);
const secs = w => w == null ? '–' : (w < 10 ? w.toFixed(2) : w.toFixed(1)) + ' s';
const isLong = t => t.length > LONG || t.split('\\n').length > LINES;
const preview = t => t.slice(0, PREVIEW).split('\\n').slice(0, LINES - 4).join('\\n') + ' …';
const fullText = key => key[0] === 'j' ? D.jobs[+key.slice(1)].o
  : D.rows[+key.slice(1).split('.')[0]].i[+key.split('.')[1]][1];

function text(t, key, pre) {
  const tag = pre ? 'pre' : 'div', long = isLong(t);
  const shown = long ? preview(t) : t;
  let h = `<${tag} class="text${long ? ' collapsed' : ''}">${esc(shown)}</${tag}>`;
  if (long) h += `<button class="more" data-full="${key}">show all ${t.length} characters</button>`;
  return h;
}

// A file that could run script is never linked: opened from file:// (where browsers ignore `download`)
// its script would run with this page's access. An SVG is shown as an <img>, which runs none; other
// such files are named, with a link to their folder (media_kind in report.py says which are which).
const folderOf = h => h.slice(0, h.lastIndexOf('/') + 1) || '.';
const named = (h, n) => `<span class="active" title="not opened from this page: it could run script">`
  + `${n}</span> <a class="muted" href="${folderOf(h)}">folder</a>`;

function file([href, name, kind]) {
  const h = esc(href), n = esc(name);
  if (kind === 'image') return `<a href="${h}" target="_blank"><img class="thumb output" loading="lazy"`
    + ` src="${h}" alt="${n}"></a>`;
  if (kind === 'svg') return `<img class="thumb output" loading="lazy" src="${h}" alt="${n}" title="${n}">`;
  // A player is made on the first click: thousands of media controls would make the page slow.
  if (kind === 'audio' || kind === 'video') return `<div class="player"><button class="play"`
    + ` data-kind="${kind}" data-src="${h}">▶ play ${kind}</button>`
    + ` <a class="muted" href="${h}">${n}</a></div>`;
  if (kind === 'active') return named(h, n);
  return `<a class="file" href="${h}">${n}</a>`;
}

function job(k) {
  const j = D.jobs[k];
  let h = `<div class="job ${esc(j.s)}" data-job="${esc(j.id)}"><div class="head">`
    + `<span class="status">${esc(j.s)}</span> · <span class="wall">${secs(j.w)}</span>`;
  if (j.p != null) h += ` · model ${secs(j.p)}`;
  if (j.a > 1) h += ` · ${j.a} attempts`;
  if (j.m) h += ` · <span class="tag">${esc(j.m)}</span>`;
  h += '</div>';
  if (j.e) h += `<div class="error">${esc(j.e)}</div>`;
  if (j.f.length) h += `<div class="media">${j.f.map(file).join('')}</div>`;
  if (j.o) h += text(j.o, 'j' + k, j.j);
  return h + '</div>';
}

function input([name, value, kind, src], r, n) {
  let v;
  if (kind === 'image' || kind === 'svg') {
    const s = esc(typeof src === 'number' ? D.assets[src] : src);
    const img = `<img class="thumb input-image" loading="lazy" src="${s}" alt="${esc(value)}">`;
    v = (kind === 'image' ? `<a href="${s}" target="_blank">${img}</a>` : img)
      + `<span class="muted">${esc(value)}</span>`;
  } else if (kind === 'url' || kind === 'file') {
    v = `<a href="${esc(src)}">${esc(value)}</a>`;
  } else if (kind === 'active') {
    v = named(esc(src), esc(value));
  } else v = text(value, `i${r}.${n}`, false);
  return `<div class="input ${kind}"><b>${esc(name)}</b> ${v}</div>`;
}

function row(r) {
  const R = D.rows[r], all = R.c.flat();
  const ok = all.every(k => D.jobs[k].s === 'succeeded');
  let h = `<div class="gridrow ${ok ? 'all-ok' : 'has-failed'}" role="row">`
    + '<div class="inputs" role="rowheader">'
    + `<div class="rowid">${esc(R.l)}</div>` + R.t.map(t => `<span class="tag">${esc(t)}</span>`).join('')
    + R.i.map((x, n) => input(x, r, n)).join('') + '</div>';
  for (const cell of R.c) h += `<div role="cell">${cell.map(job).join('')}</div>`;
  return h + '</div>';
}

function slowest(R, m) {
  let best = null;
  for (const cell of m === '' ? R.c : [R.c[+m]])
    for (const k of cell) { const w = D.jobs[k].w; if (w != null && (best == null || w > best)) best = w; }
  return best;
}

function order() {
  const idx = D.rows.map((_, i) => i), [how, m] = sortBy.value.split(':');
  if (how === 'input') return idx;
  const key = idx.map(i => slowest(D.rows[i], m ?? ''));
  const sign = how === 'slow' ? -1 : 1;
  return idx.sort((a, b) => {
    const x = key[a], y = key[b];
    if (x == null || y == null) return x == null ? (y == null ? a - b : 1) : -1;
    return sign * (x - y) || a - b;
  });
}

let generation = 0;
function render() {
  const mine = ++generation, idx = order();
  body.innerHTML = '';
  document.body.dataset.rendered = 'partial';
  let at = 0;
  const step = () => {
    if (mine !== generation) return;
    const end = at + (at ? CHUNK : FIRST);
    body.insertAdjacentHTML('beforeend', idx.slice(at, end).map(row).join(''));
    if (at === 0) performance.mark('grid-first-rows');
    at = end;
    if (at < idx.length) setTimeout(step, 0);
    else { document.body.dataset.rendered = 'complete'; performance.mark('grid-complete'); }
  };
  step();
}

body.addEventListener('click', e => {
  const play = e.target.closest('button.play');
  if (play) {
    const media = document.createElement(play.dataset.kind);
    Object.assign(media, {controls: true, src: play.dataset.src});
    play.replaceWith(media);
    media.play().catch(() => {});  // no sound device, say: the controls are still there
    return;
  }
  const b = e.target.closest('button.more');
  if (!b) return;
  const t = fullText(b.dataset.full), box = b.previousElementSibling;
  const open = box.classList.toggle('collapsed') === false;
  box.textContent = open ? t : preview(t);
  b.textContent = open ? 'show less' : `show all ${t.length} characters`;
});
failedOnly.addEventListener('change', () => grid.classList.toggle('failed-only', failedOnly.checked));
sortBy.addEventListener('change', render);
render();
})();
"""


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _summary(models: Sequence[Mapping[str, str]], stats: Sequence[ModelStats]) -> str:
    refs = {m["name"]: m for m in models}
    head = "".join(
        f"<th class='{'ref' if h == 'ref' else ''}'>{h}</th>"
        for h in (
            "model",
            "ref",
            "jobs",
            "succeeded",
            "failed",
            "canceled",
            "median wall s",
            "p90 wall s",
            "predict s",
        )
    )
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
        lines.append(f"<tr class='{'total' if s.model == 'total' else ''}'>{''.join(cells)}</tr>")
    return f"<table class='summary'><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _meta(manifest: Manifest) -> str:
    parts = []
    for key in ("spec", "started_at", "finished_at", "status"):
        if value := getattr(manifest, key):
            parts.append(f"{key.replace('_', ' ')}: {escape(str(value))}")
    if manifest.versions:
        parts.append(" ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in manifest.versions.items()))
    return " · ".join(parts)


def _banner(shown: Selection, rows: int) -> str:
    """Says that the grid shows part of the run, which part, and where the rest is."""
    n, total = f"{len(shown.records):,}", f"{shown.jobs:,}"
    parts = []
    if shown.failed_shown == shown.failed and shown.failed:
        parts.append(f"all {shown.failed:,} failed or canceled jobs, with the rest of their rows")
    elif shown.failed:
        parts.append(
            f"{shown.failed_shown:,} of the {shown.failed:,} failed or canceled jobs (the first in input "
            "order), with the rest of their rows"
        )
    if shown.other_rows:
        parts.append(f"the first {shown.other_rows:,} other grid rows in input order")
    what = " and ".join(parts) or f"{rows:,} grid rows"
    return (
        f"<div class='banner' id='partial' role='note'><b>Showing {n} of {total} results</b>: {what}. "
        f"Every result is in <a href='results.csv'>results.csv</a> beside this file. The summary above "
        f"counts all {total}; the failed-only filter and the sorting act on the {n} shown.</div>"
    )


def render_page(
    run_id: str,
    manifest: Manifest,
    models: Sequence[Mapping[str, str]],
    stats: Sequence[ModelStats],
    data: Mapping[str, Any],
    shown: Selection,
) -> str:
    """The report page: header, summary table, controls, an empty grid and the data to fill it.

    `shown` says which of the run's jobs `data` holds; when not all, a banner says so.
    """
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
    if not shown.is_complete:
        failed = f"{shown.failed_shown:,} of {shown.failed:,} shown"
        jobs = f"{len(data['jobs']):,} of {shown.jobs:,} jobs shown"
        banner = _banner(shown, len(data["rows"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(run_id)} · replicate_batch report</title>
<style>{STYLE}</style></head>
<body>
<header><h1>{escape(run_id)}</h1><div class="meta-line">{_meta(manifest)}</div></header>
<section><h2>Summary</h2>{_summary(models, stats)}</section>
{banner}<div class="controls">
<label><input type="checkbox" id="failed-only"> only failed and canceled ({failed})</label>
<label>sort <select id="sort"><option value="input">input order</option>
<option value="slow">wall time, slowest first</option><option value="fast">wall time, fastest first</option>
{options}</select></label>
<span class="muted">{len(data["rows"]):,} rows · {jobs} · times: wall clock, then model
(predict_time) · click an image for full size</span>
</div>
<noscript><p>The grid needs JavaScript; the data is in results.csv beside this file.</p></noscript>
<div id="grid" role="table" style="--models:{len(models)}">
<div class="gridrow head" role="row"><div role="columnheader">inputs</div>{header_cells}</div>
<div id="rows" role="rowgroup"></div></div>
<script type="application/json" id="data">{payload}</script>
<script>{SCRIPT}</script>
</body></html>
"""
