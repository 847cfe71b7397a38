"""`merge`: the run folders of one spec's shards (`--shard K/N`) combined into one run folder.

The merged folder is written by `RunFolder` from the shards' `JobResult`s (read back from their
journals), as a run writes its own: the same columns, redaction and atomic writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from ..clock import utc_now_iso
from ..csv_cells import csv_reader
from ..errors import MergeRefused
from .journal import JOURNAL_NAME, read_journal
from .manifest import MANIFEST_NAME, Manifest, read_manifest, write_manifest
from .results import METRIC_PREFIX, RESULTS_NAME, JobResult, ResultColumns
from .writer import RunFolder, reading_lock

STATUS_RANK = {"succeeded": 0, "failed": 1, "canceled": 2}


def merge_runs(run_dirs: Sequence[Path], into: Path) -> Path:
    """Combine run folders of one spec (shards) into a new run folder: results, files, journal, manifest.

    Where two folders hold a result for the same job, the better status wins (succeeded over failed
    over canceled). Raises MergeRefused when the folders are not runs of the same spec, RunFolderBusy
    when a process is still writing one of them (each is locked for reading while it is merged).
    """
    if not run_dirs:
        raise MergeRefused.single("merge", "", "name at least one run folder")
    with ExitStack() as locks:
        for run_dir in run_dirs:
            locks.enter_context(reading_lock(run_dir, "merge it"))
        return _merge(run_dirs, into)


def _manifest(run_dir: Path) -> Manifest:
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise MergeRefused.single(str(run_dir), "", f"not a run folder: no readable {MANIFEST_NAME}")
    return manifest


def _merge(run_dirs: Sequence[Path], into: Path) -> Path:
    manifests = [_manifest(d) for d in run_dirs]
    if len({m.spec_hash for m in manifests}) != 1:
        raise MergeRefused.single(
            "merge", "", "the run folders are runs of different specs (spec_hash differs)"
        )
    if into.exists() and any(into.iterdir()):
        raise MergeRefused.single(str(into), "--into", "already exists and is not empty: name a new folder")
    # metric columns follow the results (rewrite_results), whatever each shard saw
    columns = ResultColumns.from_header(_same_header(run_dirs))

    best: dict[str, JobResult] = {}  # job order: as the shards' results.csv list them
    for run_dir in run_dirs:
        results = read_journal(run_dir).results
        for job_id in _job_ids(run_dir):
            result = results.get(job_id)
            if result is None:
                continue
            kept = best.get(job_id)
            if kept is None or STATUS_RANK.get(result.status, 3) < STATUS_RANK.get(kept.status, 3):
                best[job_id] = result

    folder = RunFolder.at(into, columns)
    try:
        for run_dir in run_dirs:
            if (run_dir / "files").is_dir():
                shutil.copytree(run_dir / "files", into / "files", dirs_exist_ok=True)
        journals = [(d / JOURNAL_NAME).read_text(encoding="utf-8") for d in run_dirs]
        refs = {m.name: m.model_ref for m in manifests[0].models}
        spec_yaml = (run_dirs[0] / "spec.yaml").read_text(encoding="utf-8")
        folder.open_merged(spec_yaml, journals, refs, best.values())
        merged = replace(
            manifests[0],
            run_id=folder.run_id,
            merged_from=[{"run_id": m.run_id, "shard": m.shard} for m in manifests],
            merged_at=utc_now_iso(),
            counts=folder.counts,
            jobs=len(best),
            status="merged",
            shard=None,
            scores=None,  # one shard's: `merge` (the command) scores the merged run again
            scores_by=None,
            rescored_at=[],
        )
        if len({tuple(m.models) for m in manifests}) > 1:
            merged.models_per_shard = [[model.to_json() for model in m.models] for m in manifests]
        write_manifest(into, merged)
    finally:
        folder.close()
    return into


def _same_header(run_dirs: Sequence[Path]) -> list[str]:
    """The shards' common header; their `metric.*` columns may differ (each has those its jobs reported)."""
    header: list[str] | None = None
    for run_dir in run_dirs:
        with open(run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle:
            columns = next(csv_reader(handle), [])
        if header is None:
            header = columns
        elif _without_metrics(columns) != _without_metrics(header):
            raise MergeRefused.single(str(run_dir), RESULTS_NAME, "its columns differ from the other runs'")
    assert header is not None
    return header


def _without_metrics(columns: list[str]) -> list[str]:
    return [column for column in columns if not column.startswith(METRIC_PREFIX)]


def _job_ids(run_dir: Path) -> list[str]:
    with open(run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle:
        reader = csv_reader(handle)
        at = next(reader).index("job_id")
        return [row[at] for row in reader if len(row) > at]
