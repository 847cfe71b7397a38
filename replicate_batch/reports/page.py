"""`report.html`: a run as one self-contained page, showing the files the run downloaded.

The page needs no network: its CSS and script are inline, output files are referenced by their path
relative to the run folder (`files/<model>/<row>/...`, so the page works from `file://` as long as it
stays in its run folder), and input images are embedded as data URIs when small (at most
`EMBED_MAX_BYTES` each and `EMBED_TOTAL_BYTES` in all), else referenced by a relative path.
The grid is drawn by the page's script from an embedded JSON document, in chunks, with lazy thumbnails,
so a run of 8,000 jobs opens quickly. A run of more than `MAX_JOBS` jobs embeds a bounded part of its grid
(selection.py says which) under a banner that says so; its summary still counts every result, and
writing it holds only the embedded rows in memory.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..values import is_url, local_file
from .page_html import render_page
from .records import NOTE_PREFIX, SCORE_PREFIX, RunRecords, as_cell, load_run, pretty_output, read_results
from .selection import MAX_JOBS, GroupKey, RunShape, Selection, select_jobs, survey
from .stats import seconds

REPORT_NAME = "report.html"
EMBED_MAX_BYTES = 256 * 1024
EMBED_TOTAL_BYTES = 8 * 1024 * 1024
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif", ".ico"})
SVG_SUFFIXES = frozenset({".svg", ".svgz"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a", ".aac", ".opus", ".weba"})
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mov", ".m4v", ".ogv", ".mkv"})
# Files a browser shows as text or saves when a page opens them: nothing in them can run.
INERT_SUFFIXES = frozenset(
    {".txt", ".json", ".jsonl", ".csv", ".tsv", ".md", ".log", ".pdf", ".zip", ".tar", ".gz", ".tgz"}
    | {".npy", ".npz", ".glb", ".obj", ".ply", ".stl", ".bin", ".safetensors"}
)


def media_kind(name: str) -> str:
    """How the page shows a file: `image`, `svg`, `audio`, `video`, `file` or `active`.

    A file a model or a row supplied may hold script, which would run, with the page's access to the
    run folder, if the page opened it from `file://` (where browsers ignore `download` and open the
    file). So the page links only files that cannot run: images, audio, video and the inert `file`
    types. An `svg` is shown as an `<img>` (which runs no script) and not linked; any other file
    (`active`: HTML, XML, any type not known to be inert) is named, with a link to its folder.
    """
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in SVG_SUFFIXES:
        return "svg"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "file" if suffix in INERT_SUFFIXES else "active"


def relative_href(path: str) -> str:
    """A relative path (POSIX or native separators) as a URL path safe for `src` and `href`."""
    return quote(path.replace(os.sep, "/"), safe="/")


class _InputFiles:
    """Turns input values that name local files into thumbnails or links, each file read once."""

    def __init__(self, run: RunRecords) -> None:
        self.run = run
        self.base_dir = _spec_dir(run)
        self.assets: list[str] = []  # data URIs, referenced by index from the page data
        self._seen: dict[str, list[Any]] = {}
        self._embedded = 0

    def describe(self, name: str, value: str) -> list[Any]:
        """`[name, value, kind, src]`: kind is `text`, `url`, `image`, `svg`, `file` or `active`."""
        if value not in self._seen:
            self._seen[value] = self._describe(value)
        return [name, value, *self._seen[value]]

    def _describe(self, value: str) -> list[Any]:
        if is_url(value):
            return ["url", value]  # shown as a link: the page itself never loads it
        if value.startswith("data:image/"):
            return ["svg" if value.startswith("data:image/svg") else "image", value]
        path = self._local_file(value)
        if path is None:
            return ["text", None]
        kind = media_kind(path.name)
        if kind in ("image", "svg"):
            size = path.stat().st_size
            if size <= EMBED_MAX_BYTES and self._embedded + size <= EMBED_TOTAL_BYTES:
                self._embedded += size
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self.assets.append(f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}")
                return [kind, len(self.assets) - 1]
        shown = kind if kind in ("image", "svg", "active") else "file"
        return [shown, relative_href(os.path.relpath(path, self.run.path))]

    def _local_file(self, value: str) -> Path | None:
        if self.base_dir is None or len(value) > 1024:
            return None
        path = local_file(value, self.base_dir)
        try:
            return path.resolve() if path is not None else None
        except (OSError, ValueError):
            return None


def _spec_dir(run: RunRecords) -> Path | None:
    """The folder the spec's relative paths point from.

    Newer manifests record it (`spec_dir`); older ones only the spec's path as given on the command
    line, so a relative one is tried from the current directory and from the run's output folder's
    parent (where `runs/` usually is).
    """
    recorded = run.manifest.spec_dir
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    spec = run.manifest.spec
    if not spec:
        return Path.cwd()
    path = Path(str(spec)).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, run.path.parent.parent / path]
    return next((c.parent.resolve() for c in candidates if c.is_file()), None)


def _row_order(run: RunRecords) -> dict[str, int]:
    """Rows in spec order: numeric ids (the default) by number, named ones by when they first ran."""
    ids = list(dict.fromkeys(r["row_id"] for r in run.results))
    if all(i.isdigit() for i in ids):
        return {i: int(i) for i in ids}
    first: dict[str, str] = {}
    for record in run.results:
        created = record.get("created_at") or "~"  # never created: after the rest
        first[record["row_id"]] = min(first.get(record["row_id"], "~"), created)
    return {i: rank for rank, i in enumerate(sorted(ids, key=lambda i: (first[i], i)))}


def _files(record: Mapping[str, str]) -> list[list[str]]:
    try:
        paths = json.loads(record.get("files") or "[]")
    except ValueError:
        return []
    return [[relative_href(p), PurePosixPath(p).name, media_kind(p)] for p in paths if isinstance(p, str)]


def _cells(record: Mapping[str, str], columns: Sequence[str]) -> list[str]:
    """A job's cells of `columns`, less the empty ones at the end (none when all are empty)."""
    cells = [record.get(column, "") for column in columns]
    if not any(cells):
        return []
    while not cells[-1]:
        cells.pop()
    return cells


def page_data(run: RunRecords, shape: RunShape | None = None) -> dict[str, Any]:
    """What the page's script draws: models, grid rows (inputs and job indices per model), jobs, and
    the scorers with, per model, those that apply to it (indices into `scorers`).

    A job's `sc` holds its `score.<name>` cells in the order of `scorers`, `sn` its `note.<name>` cells,
    each less its empty cells at the end, and left out when they are all empty.

    `shape` is the whole run's (`survey`) when `run.results` holds only the jobs to show.
    """
    shape = shape or survey(run, run.results)
    models = shape.models
    defaults = run.model_defaults()
    matrix = {k: [as_cell(v) for v in run.spec["matrix"][k] or []] for k in run.matrix_keys}
    shared = shape.shared
    repeats = shape.repeats
    row_rank = _row_order(run)
    inputs = _InputFiles(run)

    def rank(record: Mapping[str, str], keys: Sequence[str]) -> tuple[int, ...]:
        values = run.matrix_values(record)
        return tuple(matrix[k].index(values[k]) if values.get(k) in matrix[k] else -1 for k in keys)

    score_columns = [SCORE_PREFIX + name for name in run.scorer_names]
    note_columns = [NOTE_PREFIX + name for name in run.scorer_names]
    groups: dict[GroupKey, list[int]] = {}
    jobs: list[dict[str, Any]] = []
    for index, record in enumerate(run.results):
        groups.setdefault(shape.group_key(record), []).append(index)
        output, is_json = pretty_output(record.get("output", ""))
        own = {k: v for k, v in run.matrix_values(record).items() if k not in shared}
        job: dict[str, Any] = {
            "id": record["job_id"],
            "s": record["status"],
            "w": seconds(record.get("wall_time")),
            "p": seconds(record.get("predict_time")),
            "a": int(record["attempts"]) if record.get("attempts", "").isdigit() else 0,
            "m": " · ".join(f"{k}={v}" for k, v in own.items()),
            "o": output,
            "j": is_json,
            "f": _files(record),
            "e": record.get("error", ""),
        }
        if scores := _cells(record, score_columns):
            job["sc"] = scores
        if notes := _cells(record, note_columns):
            job["sn"] = notes
        jobs.append(job)

    def group_order(item: tuple[GroupKey, list[int]]) -> tuple[Any, ...]:
        (row_id, repeat, _), members = item
        first = run.results[members[0]]
        return (row_rank[row_id], row_id, rank(first, shared), int(repeat or 0))

    rows: list[dict[str, Any]] = []
    for (row_id, repeat, values), members in sorted(groups.items(), key=group_order):
        members.sort(key=lambda i: rank(run.results[i], run.matrix_keys))
        cells: list[list[int]] = [[] for _ in models]
        for i in members:
            cells[models.index(run.results[i]["model"])].append(i)
        tags = [f"{k}={v}" for k, v in zip(shared, values)] + ([f"repeat {repeat}"] if repeats else [])
        rows.append({"l": row_id, "t": tags, "i": _row_inputs(run, members, defaults, inputs), "c": cells})
    names = run.scorer_names
    return {
        "models": models,
        "rows": rows,
        "jobs": jobs,
        "assets": inputs.assets,
        "scorers": names,
        "applies": [[names.index(n) for n in shape.applies.get(m, ())] for m in models],
    }


def _row_inputs(
    run: RunRecords, members: list[int], defaults: Mapping[str, Mapping[str, str]], inputs: _InputFiles
) -> list[list[Any]]:
    """The row's own inputs: what its jobs were sent, less matrix values and each model's defaults."""
    shown: dict[str, list[Any]] = {}
    matrix_keys = set(run.matrix_keys)
    for i in members:
        record = run.results[i]
        own_defaults = defaults.get(record["model"], {})
        for name in run.input_columns:
            value = record.get(f"input.{name}", "")
            if not value or name in shown or name in matrix_keys or own_defaults.get(name) == value:
                continue
            shown[name] = inputs.describe(name, value)
    for name in run.metadata_columns:
        value = next((run.results[i][name] for i in members if run.results[i].get(name)), "")
        if value:
            shown[name] = [name, value, "meta", None]
    return list(shown.values())


def render_report(run: RunRecords, shape: RunShape | None = None, selection: Selection | None = None) -> str:
    """The whole page, as a string: of every job in `run.results`, or of `selection` out of `shape`."""
    shape = shape or survey(run, run.results)
    selection = selection or Selection(
        run.results, shape.jobs, shape.failed, shape.failed, 0, shape.below_one, shape.below_one
    )
    defaults = run.model_defaults()
    refs = {m.name: m for m in run.manifest.models}
    models = [
        {
            "name": name,
            "ref": refs[name].model_ref if name in refs else "",
            "version": (refs[name].version or "") if name in refs else "",
            "defaults": " ".join(f"{k}={v}" for k, v in defaults.get(name, {}).items()),
        }
        for name in shape.models
    ]
    return render_page(
        run.run_id, run.manifest, models, shape.stats, page_data(run, shape), selection, run.scorer_names
    )


def write_report(run_dir: str | Path, *, max_jobs: int = MAX_JOBS) -> Path:
    """Write (or rewrite) `report.html` in a run folder; returns its path.

    The grid embeds at most `max_jobs` jobs; `results.csv` is streamed, never held whole.
    """
    run = load_run(run_dir, with_results=False)
    shape = survey(run, read_results(run.path), max_jobs)
    selection = select_jobs(run, shape, max_jobs)
    target = run.path / REPORT_NAME
    part = run.path / (REPORT_NAME + ".part")
    page = render_report(replace(run, results=selection.records), shape, selection)
    part.write_text(page, encoding="utf-8")
    os.replace(part, target)
    return target


def try_write_report(run_dir: str | Path) -> tuple[Path | None, str]:
    """`write_report`, but a failure is only a warning (a report never fails a run): (path, "") or
    (None, why)."""
    try:
        return write_report(run_dir), ""
    except Exception as error:
        return None, f"{REPORT_NAME} was not written: {error}"
