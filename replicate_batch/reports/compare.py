"""`compare RUN_A RUN_B`: what changed between two runs of a spec, jobs matched by `job_id`.

A job whose output changed is one that succeeded in both runs with different text or different file
bytes (sha256 of each file, in output order). A new failure is a job that failed or was canceled in B
but succeeded in A, or that only B has; a fixed failure the reverse. Scores are compared per model and
scorer with a paired test (score_changes.py). `exit_code` is 1 when B has new failures or a
significantly lower mean, so a scheduled sweep can alert on regressions.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from .records import FAILED_STATUSES, RunRecords, model_stats, natural_key, pretty_output
from .score_changes import ScoreChanges, compare_scores
from .score_text import score_lines
from .stats import ModelStats

COMPARE_NAME = "compare.html"
DIFF_LINES = 40  # a text diff is cut after this many lines
LINE_CHARS = 300  # and each of its lines after this many characters
TEXT_LISTED = 50  # the text summary lists this many jobs per section; compare.html lists all


@dataclass(frozen=True)
class StatusChange:
    """A job whose status matters to the comparison: before (A, or "" if absent) and after (B)."""

    job_id: str
    label: str
    before: str
    after: str
    error: str = ""


@dataclass(frozen=True)
class FileChange:
    """One output file that differs: its paths in each run and their sha256 (None when absent)."""

    path_a: str | None
    path_b: str | None
    sha_a: str | None
    sha_b: str | None


@dataclass(frozen=True)
class OutputChange:
    """A job that succeeded in both runs with different output text or files."""

    job_id: str
    label: str
    diff: Sequence[str]
    files: Sequence[FileChange]


@dataclass(frozen=True)
class ModelDelta:
    """One model's statistics in A and in B (None where the run has no job of it)."""

    model: str
    a: ModelStats | None
    b: ModelStats | None


@dataclass(frozen=True)
class Comparison:
    """Everything `compare` reports about two runs."""

    run_a: RunRecords
    run_b: RunRecords
    matched: int
    new_failures: Sequence[StatusChange]
    fixed: Sequence[StatusChange]
    changed: Sequence[OutputChange]
    only_a: Sequence[StatusChange]
    only_b: Sequence[StatusChange]
    models: Sequence[ModelDelta]
    scores: ScoreChanges

    @property
    def exit_code(self) -> int:
        """1 when B has failures A did not have or a significantly lower mean, else 0."""
        return 1 if self.new_failures or self.scores.worse else 0


def file_sha256(path: Path) -> str | None:
    """The file's sha256 in hex, None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def text_diff(a: str, b: str) -> list[str]:
    """A unified diff of two outputs (JSON pretty-printed first), cut to `DIFF_LINES` lines."""
    lines = list(
        difflib.unified_diff(
            pretty_output(a)[0].splitlines(), pretty_output(b)[0].splitlines(), lineterm="", n=1
        )
    )[2:]  # drop the ---/+++ file header
    cut = [line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " …" for line in lines[:DIFF_LINES]]
    if len(lines) > DIFF_LINES:
        cut.append(f"… {len(lines) - DIFF_LINES} more diff lines")
    return cut


def _files(record: Mapping[str, str]) -> list[str]:
    cell = record.get("files") or "[]"
    if cell == "[]":  # most outputs are text: no need to parse
        return []
    try:
        files = json.loads(cell)
    except ValueError:
        return []
    return [f for f in files if isinstance(f, str)]


def _file_changes(
    run_a: RunRecords, a: Mapping[str, str], run_b: RunRecords, b: Mapping[str, str]
) -> list[FileChange]:
    changes = []
    for path_a, path_b in zip_longest(_files(a), _files(b)):
        sha_a = file_sha256(run_a.path / path_a) if path_a else None
        sha_b = file_sha256(run_b.path / path_b) if path_b else None
        if sha_a != sha_b:
            changes.append(FileChange(path_a, path_b, sha_a, sha_b))
    return changes


def _in_order(run: RunRecords, keys: dict[str, tuple[object, ...]]) -> dict[str, dict[str, str]]:
    """A run's jobs by id, in spec model order, then rows and matrix values and repeats in natural order
    (2 before 10); `keys` keeps the natural keys made, as row ids recur across models and runs."""
    models = {name: i for i, name in enumerate(run.model_names)}

    def natural(text: str) -> tuple[object, ...]:
        found = keys.get(text)
        if found is None:
            found = keys[text] = natural_key(text)
        return found

    def key(record: Mapping[str, str]) -> tuple[object, ...]:
        return models[record["model"]], natural(record["row_id"]), natural(run.job_variant(record))

    return {r["job_id"]: r for r in sorted(run.results, key=key)}


def compare_runs(run_a: RunRecords, run_b: RunRecords) -> Comparison:
    """Match the two runs' jobs by `job_id` and find what changed."""
    keys: dict[str, tuple[object, ...]] = {}
    jobs_a = _in_order(run_a, keys)
    jobs_b = _in_order(run_b, keys)
    new_failures: list[StatusChange] = []
    fixed: list[StatusChange] = []
    changed: list[OutputChange] = []
    only_b: list[StatusChange] = []
    for job_id, b in jobs_b.items():
        label = run_b.job_label(b)
        a = jobs_a.get(job_id)
        if a is None:
            only_b.append(StatusChange(job_id, label, "", b["status"], b.get("error", "")))
            if b["status"] in FAILED_STATUSES:
                new_failures.append(only_b[-1])
            continue
        change = StatusChange(job_id, label, a["status"], b["status"], b.get("error", ""))
        if a["status"] == "succeeded" and b["status"] in FAILED_STATUSES:
            new_failures.append(change)
        elif a["status"] in FAILED_STATUSES and b["status"] == "succeeded":
            fixed.append(change)
        elif a["status"] == b["status"] == "succeeded":
            diff = text_diff(a.get("output", ""), b.get("output", "")) if a["output"] != b["output"] else []
            files = _file_changes(run_a, a, run_b, b)
            if diff or files:
                changed.append(OutputChange(job_id, label, diff, files))
    only_a = [
        StatusChange(job_id, run_a.job_label(a), a["status"], "", a.get("error", ""))
        for job_id, a in jobs_a.items()
        if job_id not in jobs_b
    ]
    stats_a = {s.model: s for s in model_stats(run_a)}
    stats_b = {s.model: s for s in model_stats(run_b)}
    names = [n for n in dict.fromkeys([*stats_b, *stats_a]) if n != "total"] + ["total"]
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        matched=len(jobs_a.keys() & jobs_b.keys()),
        new_failures=new_failures,
        fixed=fixed,
        changed=changed,
        only_a=only_a,
        only_b=only_b,
        models=[ModelDelta(n, stats_a.get(n), stats_b.get(n)) for n in names],
        scores=compare_scores(run_a, run_b, jobs_a, jobs_b),
    )


def change_percent(a: float | None, b: float | None) -> str:
    """`+12%`, `-3%`, or `–` when either side is missing or A is zero."""
    if a is None or b is None or a == 0:
        return "–"
    return f"{(b - a) / a * 100:+.0f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def model_rows(comparison: Comparison) -> list[list[str]]:
    """The per-model table: header, then one row per model and `total`."""
    rows = [
        [
            "model",
            "jobs A",
            "jobs B",
            "failed A",
            "failed B",
            "median_s A",
            "median_s B",
            "change",
            "predict_s A",
            "predict_s B",
            "change",
        ]
    ]
    for delta in comparison.models:
        a, b = delta.a, delta.b
        rows.append(
            [
                delta.model,
                str(a.jobs if a else 0),
                str(b.jobs if b else 0),
                str(a.failed + a.canceled if a else 0),
                str(b.failed + b.canceled if b else 0),
                _num(a.median_wall_s if a else None),
                _num(b.median_wall_s if b else None),
                change_percent(a.median_wall_s if a else None, b.median_wall_s if b else None),
                _num(a.predict_s if a else None),
                _num(b.predict_s if b else None),
                change_percent(a.predict_s if a else None, b.predict_s if b else None),
            ]
        )
    return rows


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "missing"


def _section(title: str, items: Sequence[str]) -> list[str]:
    lines = [f"{title} ({len(items)}):" if items else f"{title}: none"]
    lines += items[:TEXT_LISTED]
    if len(items) > TEXT_LISTED:
        lines.append(f"  … and {len(items) - TEXT_LISTED} more (see {COMPARE_NAME})")
    return lines


def comparison_text(comparison: Comparison) -> str:
    """The readable summary `compare` prints."""
    c = comparison
    lines = [
        f"compare {c.run_a.path} (A) -> {c.run_b.path} (B)",
        f"{c.matched} jobs in both, {len(c.only_a)} only in A, {len(c.only_b)} only in B",
    ]

    def status(s: StatusChange) -> str:
        before = s.before or "only in B"
        error = f": {s.error.splitlines()[0][:LINE_CHARS]}" if s.error and s.after != "succeeded" else ""
        return f"  {s.label}  {before} -> {s.after}{error}"

    lines += _section("new failures", [status(s) for s in c.new_failures])
    lines += _section("fixed failures", [status(s) for s in c.fixed])
    changed = []
    for change in c.changed:
        entry = [f"  {change.label}"] + [f"    {line}" for line in change.diff]
        entry += [
            f"    file {f.path_b or f.path_a}: sha256 {_short(f.sha_a)} -> {_short(f.sha_b)}"
            for f in change.files
        ]
        changed.append("\n".join(entry))
    lines += _section("outputs changed", changed)
    lines += _section("only in A", [f"  {s.label} ({s.before})" for s in c.only_a])
    lines += _section("only in B", [f"  {s.label} ({s.after})" for s in c.only_b])
    lines += score_lines(c.scores, listed=TEXT_LISTED, page_name=COMPARE_NAME)
    table = model_rows(c)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines.append("")
    for row in table:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
            )
        )
    return "\n".join(lines)
