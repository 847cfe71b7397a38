"""Spreading one sweep over several machines: `--shard K/N` and `merge`."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clock import utc_now_iso
from .csv_cells import csv_reader
from .runfolder.journal import JOURNAL_NAME
from .runfolder.writer import reading_lock
from .spec.problems import SpecError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
STATUS_RANK = {"succeeded": 0, "failed": 1, "canceled": 2}


@dataclass(frozen=True)
class Shard:
    """The K-th of N deterministic slices of a spec's jobs (1-based), chosen by `job_id`."""

    index: int
    count: int

    def takes(self, job_id: str) -> bool:
        """Whether this shard runs the job; every job belongs to exactly one shard."""
        return int(job_id, 16) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Read `K/N` (1 <= K <= N)."""
    match = _SHARD.match(text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"expected K/N with 1 <= K <= N, such as 2/4, got {text!r}")
    return Shard(int(match[1]), int(match[2]))


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SpecError.single(str(run_dir), "", "not a run folder: no readable manifest.json") from None
    return data if isinstance(data, dict) else {}


def merge_runs(run_dirs: Sequence[Path], into: Path) -> Path:
    """Combine run folders of one spec (shards) into a new run folder: results, files, journal, manifest.

    Where two folders hold a result for the same job, the better status wins (succeeded over failed
    over canceled). Raises SpecError when the folders are not runs of the same spec, RunFolderBusy
    when a process is still writing one of them (each is locked for reading while it is merged).
    """
    if not run_dirs:
        raise SpecError.single("merge", "", "name at least one run folder")
    with ExitStack() as locks:
        for run_dir in run_dirs:
            locks.enter_context(reading_lock(run_dir, "merge it"))
        return _merge(run_dirs, into)


def _merge(run_dirs: Sequence[Path], into: Path) -> Path:
    manifests = [_manifest(d) for d in run_dirs]
    hashes = {m.get("spec_hash") for m in manifests}
    if len(hashes) != 1:
        raise SpecError.single("merge", "", "the run folders are runs of different specs (spec_hash differs)")
    if into.exists() and any(into.iterdir()):
        raise SpecError.single(str(into), "--into", "already exists and is not empty: name a new folder")
    into.mkdir(parents=True, exist_ok=True)
    run_id = into.name

    header: list[str] | None = None
    best: dict[str, list[str]] = {}
    order: list[str] = []
    for run_dir in run_dirs:
        with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
            reader = csv_reader(handle)
            columns = next(reader)
            if header is None:
                header = columns
            elif columns != header:
                raise SpecError.single(str(run_dir), "results.csv", "its columns differ from the other runs'")
            status_at, job_at = columns.index("status"), columns.index("job_id")
            for row in reader:
                row[0] = run_id
                job_id = row[job_at]
                if job_id not in best:
                    order.append(job_id)
                    best[job_id] = row
                elif STATUS_RANK.get(row[status_at], 3) < STATUS_RANK.get(best[job_id][status_at], 3):
                    best[job_id] = row
        if (run_dir / "files").is_dir():
            shutil.copytree(run_dir / "files", into / "files", dirs_exist_ok=True)
    assert header is not None
    with open(into / "results.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(best[job_id] for job_id in order)
    with open(into / JOURNAL_NAME, "w", encoding="utf-8") as journal:
        for run_dir in run_dirs:
            journal.write((run_dir / JOURNAL_NAME).read_text(encoding="utf-8"))
    shutil.copyfile(run_dirs[0] / "spec.yaml", into / "spec.yaml")
    counts: dict[str, int] = {}
    status_at = header.index("status")
    for row in best.values():
        counts[row[status_at]] = counts.get(row[status_at], 0) + 1
    merged = {
        **manifests[0],
        "run_id": run_id,
        "merged_from": [{"run_id": m.get("run_id"), "shard": m.get("shard")} for m in manifests],
        "merged_at": utc_now_iso(),
        "counts": counts,
        "jobs": len(best),
        "status": "merged",
    }
    versions = {json.dumps(m.get("models"), sort_keys=True) for m in manifests}
    if len(versions) > 1:
        merged["models_per_shard"] = [m.get("models") for m in manifests]
    merged.pop("shard", None)
    (into / "manifest.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return into
