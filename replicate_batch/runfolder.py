"""The run folder and its one writer: spec, manifest, journal, results and downloaded files."""

from __future__ import annotations

import csv
import json
import os
import platform
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from .clock import utc_now_iso
from .results import COLUMNS, JobResult

LOCK_NAME = ".lock"


class RunFolderBusy(Exception):
    """Another process is writing this run folder."""


def new_run_id(output_dir: Path, name: str) -> str:
    """`<name>-<UTC yyyymmdd-HHMMSS>`, with a suffix if that folder already exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_id = f"{name}-{stamp}"
    suffix = 2
    while (output_dir / run_id).exists():
        run_id = f"{name}-{stamp}-{suffix}"
        suffix += 1
    return run_id


def package_versions() -> dict[str, str]:
    """Versions of this package, its API client and Python, for the manifest."""
    versions = {"python": platform.python_version()}
    for package in ("replicate-batch", "replicate", "cog", "coglet"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


class RunFolder:
    """Owns every write to `<output_dir>/<run_id>/`; safe to call from worker threads."""

    def __init__(self, path: Path, input_columns: list[str], metadata_columns: list[str]) -> None:
        self.path = path
        self.run_id = path.name
        self.input_columns = input_columns
        self.metadata_columns = metadata_columns
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._journal: TextIO | None = None
        self._results: TextIO | None = None
        self._results_writer: Any = None
        self._model_refs: dict[str, str] = {}

    @classmethod
    def create(
        cls, output_dir: Path, name: str, input_columns: list[str], metadata_columns: list[str]
    ) -> RunFolder:
        """Make a new, locked run folder."""
        output_dir.mkdir(parents=True, exist_ok=True)
        while True:
            path = output_dir / new_run_id(output_dir, name)
            try:
                path.mkdir()
                break
            except FileExistsError:  # another run took the name between the check and mkdir
                continue
        folder = cls(path, input_columns, metadata_columns)
        folder._acquire_lock()
        return folder

    def _acquire_lock(self) -> None:
        lock = self.path / LOCK_NAME
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = lock.read_text().strip() or "another process"
            raise RunFolderBusy(
                f"{self.path} is being written by process {owner}; if that run is gone, delete {lock}"
            ) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))

    def open(self, spec_yaml: str, model_refs: Mapping[str, str]) -> None:
        """Write `spec.yaml` and start the journal and `results.csv`."""
        self._model_refs = dict(model_refs)
        (self.path / "spec.yaml").write_text(spec_yaml, encoding="utf-8")
        self._journal = open(self.path / "journal.jsonl", "a", encoding="utf-8")
        results_path = self.path / "results.csv"
        is_new = not results_path.exists()
        self._results = open(results_path, "a", encoding="utf-8", newline="")
        self._results_writer = csv.writer(self._results)
        if is_new:
            self._results_writer.writerow(
                [*COLUMNS, *(f"input.{c}" for c in self.input_columns), *self.metadata_columns]
            )
            self._results.flush()

    def journal(self, event: str, **fields: Any) -> None:
        """Append one event to `journal.jsonl` and flush it, so a crash loses at most this line."""
        line = json.dumps({"event": event, "time": utc_now_iso(), **fields}, ensure_ascii=False, default=str)
        with self._lock:
            assert self._journal is not None, "open() the run folder first"
            self._journal.write(line + "\n")
            self._journal.flush()

    def record(self, result: JobResult) -> None:
        """Journal a finished job and append its `results.csv` row."""
        self.journal("finished", job_id=result.job_id, result=result.to_journal())
        row = result.csv_row(
            self.run_id,
            self._model_refs.get(result.model, ""),
            self.input_columns,
            self.metadata_columns,
        )
        with self._lock:
            self._results_writer.writerow(row)
            assert self._results is not None
            self._results.flush()
            self._counts[result.status] += 1

    @property
    def counts(self) -> dict[str, int]:
        """Finished jobs by status so far."""
        with self._lock:
            return dict(self._counts)

    def files_dir(self, model: str, row_id: str) -> Path:
        """Where a job's output files go: `files/<model>/<row_id>/`."""
        safe_row = "".join(c if c.isalnum() or c in "._-" else "_" for c in row_id).lstrip(".") or "_"
        return self.path / "files" / model / safe_row

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Replace `manifest.json` atomically."""
        data = {
            "run_id": self.run_id,
            **manifest,
            "counts": self.counts,
            "versions": package_versions(),
        }
        part = self.path / "manifest.json.part"
        part.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(part, self.path / "manifest.json")

    def close(self) -> None:
        """Flush and close the journal and results, and release the lock."""
        with self._lock:
            for handle in (self._journal, self._results):
                if handle is not None:
                    handle.close()
            self._journal = self._results = None
        (self.path / LOCK_NAME).unlink(missing_ok=True)
