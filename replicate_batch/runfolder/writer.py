"""The run folder and its one writer: spec, manifest, journal, results and downloaded files.

Every text it writes is redacted (redaction.py): whatever a server put in an error message, the API
token never reaches the folder.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import platform
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from ..clock import utc_now_iso
from ..csv_cells import csv_reader
from ..errors import RunFolderBusy
from ..execution.outputs import path_part
from ..redaction import redact
from .journal import JOURNAL_NAME
from .manifest import Manifest, write_manifest
from .results import COLUMNS, RESULTS_NAME, JobResult, header, metric_columns

LOCK_NAME = ".lock"
# JSON allows a lone surrogate (`"\ud800"` in a model's output) that UTF-8 cannot encode: written as
# `\ud800`, which the journal's JSON reads back as the same text, rather than ending the run.
UNENCODABLE = "backslashreplace"


@contextmanager
def reading_lock(path: Path, then: str) -> Iterator[None]:
    """Hold a run folder's lock shared while it is read whole; RunFolderBusy while a run writes it.

    `then` ends the message (`merge it`). A folder without a lock file is not being written: a run
    makes one before anything else.
    """
    try:
        handle = open(path / LOCK_NAME, encoding="utf-8")
    except OSError:  # no lock file (or no folder: the caller says so)
        yield
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            owner = handle.read().strip() or "another process"
            raise RunFolderBusy(
                f"{path} is being written by process {owner}: wait for it to end, then {then}"
            ) from None
        yield


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
        # The metric names some result in results.csv reported; grows as results arrive (`_widen`).
        self.metric_columns: list[str] = []
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._journal: TextIO | None = None
        self._results: TextIO | None = None
        self._results_writer: Any = None
        self._model_refs: dict[str, str] = {}
        self._lock_handle: TextIO | None = None

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

    @classmethod
    def reopen(cls, path: Path, input_columns: list[str], metadata_columns: list[str]) -> RunFolder:
        """Lock an existing run folder to resume it."""
        if not (path / JOURNAL_NAME).is_file():
            raise FileNotFoundError(f"{path} is not a run folder (it has no {JOURNAL_NAME})")
        folder = cls(path, input_columns, metadata_columns)
        folder._acquire_lock()
        return folder

    @classmethod
    def at(cls, path: Path, input_columns: list[str], metadata_columns: list[str]) -> RunFolder:
        """Make (or take, when empty) a locked run folder at exactly `path`: where `merge` writes."""
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path, input_columns, metadata_columns)
        folder._acquire_lock()
        return folder

    def _acquire_lock(self) -> None:
        # flock, not a marker file: the kernel releases it when the process dies, even by kill -9.
        handle = open(self.path / LOCK_NAME, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise RunFolderBusy(
                f"{self.path} is being written by process {owner}: wait for it to end"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle

    def open(
        self,
        spec_yaml: str,
        model_refs: Mapping[str, str],
        spec_hash: str,
        kept: Iterable[JobResult] | None = None,
    ) -> None:
        """Write `spec.yaml`, journal the start, and start `results.csv` (with `kept` rows on resume)."""
        self._model_refs = dict(model_refs)
        (self.path / "spec.yaml").write_text(redact(spec_yaml), encoding="utf-8")
        self._journal = open(self.path / JOURNAL_NAME, "a", encoding="utf-8", errors=UNENCODABLE)
        self.journal("run", run_id=self.run_id, spec_hash=spec_hash, resumed=kept is not None)
        self.rewrite_results(kept or [])
        self._results = open(self.path / RESULTS_NAME, "a", encoding="utf-8", errors=UNENCODABLE, newline="")
        self._results_writer = csv.writer(self._results)

    def open_merged(
        self,
        spec_yaml: str,
        journals: Iterable[str],
        model_refs: Mapping[str, str],
        results: Iterable[JobResult],
    ) -> None:
        """Write a merged run: `spec.yaml`, the shards' journals one after another, and `results.csv`.

        Each file is written whole and then moved into place, so a merge that fails leaves no half file.
        """
        self._model_refs = dict(model_refs)
        _replace_text(self.path / "spec.yaml", redact(spec_yaml))
        _replace_text(self.path / JOURNAL_NAME, "".join(journals))
        self.rewrite_results(results)

    def rewrite_results(self, results: Iterable[JobResult]) -> None:
        """Replace `results.csv` atomically with these results (counts follow).

        Its `metric.*` columns are the metrics these results report, whatever earlier rows had.
        """
        results = list(results)
        metrics = metric_columns(name for result in results for name in result.metrics)
        part = self.path / (RESULTS_NAME + ".part")
        counts: Counter[str] = Counter()
        with open(part, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header(metrics, self.input_columns, self.metadata_columns))
            for result in results:
                writer.writerow(self._row(result, metrics))
                counts[result.status] += 1
        with self._lock:
            self._replace_results(part)
            self._counts, self.metric_columns = counts, metrics

    def _replace_results(self, part: Path) -> None:
        """Move a new `results.csv` into place; the append handle, if open, follows it. Hold `_lock`."""
        if self._results is not None:
            self._results.close()
        os.replace(part, self.path / RESULTS_NAME)
        if self._results is not None:
            self._results = open(
                self.path / RESULTS_NAME, "a", encoding="utf-8", errors=UNENCODABLE, newline=""
            )
            self._results_writer = csv.writer(self._results)

    def _widen(self, names: Iterable[str]) -> None:
        """Add `metric.*` columns for metrics no earlier row reported, rewriting `results.csv` atomically.

        The header is only known as results arrive: a run's first language-model result, say, brings
        its token counts. The rows already written get empty cells there; a crash meanwhile leaves the
        old file whole. Hold `_lock`.
        """
        columns = metric_columns([*self.metric_columns, *names])
        first, width = len(COLUMNS), len(self.metric_columns)
        at = {name: first + index for index, name in enumerate(self.metric_columns)}
        path, part = self.path / RESULTS_NAME, self.path / (RESULTS_NAME + ".part")
        with (
            open(path, encoding="utf-8", newline="") as old,
            open(part, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as new,
        ):
            rows, writer = csv_reader(old), csv.writer(new)
            next(rows, None)
            writer.writerow(header(columns, self.input_columns, self.metadata_columns))
            for row in rows:
                cells = [row[at[name]] if name in at else "" for name in columns]
                writer.writerow([*row[:first], *cells, *row[first + width :]])
        self._replace_results(part)
        self.metric_columns = columns

    def _row(self, result: JobResult, metrics: list[str] | None = None) -> list[Any]:
        model_ref = self._model_refs.get(result.model, "")
        columns = self.metric_columns if metrics is None else metrics
        row = result.csv_row(self.run_id, model_ref, self.input_columns, self.metadata_columns, columns)
        return [redact(cell) if isinstance(cell, str) else cell for cell in row]

    def journal(self, event: str, **fields: Any) -> None:
        """Append one event to `journal.jsonl` and flush it, so a crash loses at most this line."""
        line = json.dumps({"event": event, "time": utc_now_iso(), **fields}, ensure_ascii=False, default=str)
        line = redact(line)
        with self._lock:
            assert self._journal is not None, "open() the run folder first"
            self._journal.write(line + "\n")
            self._journal.flush()

    def record(self, result: JobResult) -> None:
        """Journal a finished job and append its `results.csv` row."""
        self.journal("finished", job_id=result.job_id, result=result.to_journal())
        with self._lock:
            new = [name for name in result.metrics if name not in self.metric_columns]
            if new:
                self._widen(new)
            row = self._row(result)
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
        """Where a job's output files go: `files/<model>/<row_id>/`, each name made safe (`path_part`)."""
        return self.path / "files" / path_part(model) / path_part(row_id)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace `manifest.json` atomically, with this folder's run id, counts so far and versions."""
        manifest.run_id, manifest.counts, manifest.versions = self.run_id, self.counts, package_versions()
        write_manifest(self.path, manifest)

    def close(self) -> None:
        """Flush and close the journal and results, and release the lock."""
        with self._lock:
            for handle in (self._journal, self._results):
                if handle is not None:
                    handle.close()
            self._journal = self._results = None
        lock, self._lock_handle = self._lock_handle, None
        if lock is not None:
            lock.close()  # releases the flock; the file stays, harmlessly


def _replace_text(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8", errors=UNENCODABLE)
    os.replace(part, path)
