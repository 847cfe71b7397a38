"""The run folder and its one writer: spec, manifest, journal, results and downloaded files.

Every text it writes is redacted (redaction.py): whatever a server put in an error message, the API
token never reaches the folder.

(Over 300 lines: every write to the folder, and the lock that orders them, is here and only here.)
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import platform
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, TextIO

from ..clock import utc_now_iso
from ..csv_cells import csv_reader
from ..errors import RunFolderBusy
from ..execution.outputs import path_part
from ..redaction import redact, redact_cells
from .journal import JOURNAL_NAME
from .manifest import Manifest, write_manifest
from .results import COLUMNS, RESULTS_NAME, JobResult, ResultColumns, metric_columns

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


class ResultsTally(Protocol):
    """Follows what `results.csv` holds: told of each row written, and when the file starts again."""

    def reset(self) -> None:
        """`results.csv` is being rewritten from its first row."""

    def add(self, result: JobResult) -> None:
        """A row was written for this result."""


class RunFolder:
    """Owns every write to `<output_dir>/<run_id>/`; safe to call from worker threads.

    `tally` (the run's score aggregates, set by the runner) follows every row written to
    `results.csv`, as the counts by status do.
    """

    def __init__(self, path: Path, columns: ResultColumns) -> None:
        self.path = path
        self.run_id = path.name
        self.columns = columns
        self.tally: ResultsTally | None = None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._journal: TextIO | None = None
        self._results: TextIO | None = None
        self._results_writer: Any = None
        self._model_refs: dict[str, str] = {}
        self._lock_handle: TextIO | None = None

    @classmethod
    def create(cls, output_dir: Path, name: str, columns: ResultColumns) -> RunFolder:
        """Make a new, locked run folder."""
        output_dir.mkdir(parents=True, exist_ok=True)
        while True:
            path = output_dir / new_run_id(output_dir, name)
            try:
                path.mkdir()
                break
            except FileExistsError:  # another run took the name between the check and mkdir
                continue
        folder = cls(path, columns)
        folder._acquire_lock()
        return folder

    @classmethod
    def reopen(cls, path: Path, columns: ResultColumns) -> RunFolder:
        """Lock an existing run folder to resume (or rescore) it."""
        if not (path / JOURNAL_NAME).is_file():
            raise FileNotFoundError(f"{path} is not a run folder (it has no {JOURNAL_NAME})")
        folder = cls(path, columns)
        folder._acquire_lock()
        return folder

    @classmethod
    def at(cls, path: Path, columns: ResultColumns) -> RunFolder:
        """Make (or take, when empty) a locked run folder at exactly `path`: where `merge` writes."""
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path, columns)
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
        self.open_journal()
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

    def open_journal(self) -> None:
        """Open `journal.jsonl` for appending (`open` does; `rescore` appends its events); once."""
        if self._journal is None:
            self._journal = open(self.path / JOURNAL_NAME, "a", encoding="utf-8", errors=UNENCODABLE)

    def rewrite_results(self, results: Iterable[JobResult]) -> None:
        """Replace `results.csv` atomically with these results (counts and the tally follow).

        Its `metric.*` columns are the metrics these results report, whatever earlier rows had.
        """
        results = list(results)
        metrics = tuple(metric_columns(name for result in results for name in result.metrics))
        columns = replace(self.columns, metrics=metrics)
        if self.tally is not None:
            self.tally.reset()
        part = self.path / (RESULTS_NAME + ".part")
        counts: Counter[str] = Counter()
        with open(part, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns.header())
            for result in results:
                writer.writerow(self._row(result, columns))
                counts[result.status] += 1
                if self.tally is not None:
                    self.tally.add(result)
        self._install(part, counts, columns)

    def rewrite_rows(self, header: Sequence[str], rows: Iterable[list[Any]], *, new: slice) -> None:
        """Replace `results.csv` atomically with rows made elsewhere (`rescore`): the cells in `new`
        are redacted here, the others are copied from a `results.csv` this writer wrote (redacted
        then). Counts follow the `status` column. A crash before the end leaves the old file whole."""
        part = self.path / (RESULTS_NAME + ".part")
        counts: Counter[str] = Counter()
        at = list(header).index("status")
        with open(part, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                row[new] = redact_cells(row[new])
                writer.writerow(row)
                counts[row[at]] += 1
            handle.flush()
            os.fsync(handle.fileno())  # the new file is whole on disk before it replaces the old one
        self._install(part, counts, ResultColumns.from_header(header))

    def _install(self, part: Path, counts: Counter[str], columns: ResultColumns) -> None:
        with self._lock:
            self._replace_results(part)
            self._counts, self.columns = counts, columns

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
        if self._results is not None:
            self._results.flush()  # rows of this batch written so far are read back below
        old_metrics = self.columns.metrics
        columns = replace(self.columns, metrics=tuple(metric_columns([*old_metrics, *names])))
        first, width = len(COLUMNS) + 2 * len(self.columns.scores), len(old_metrics)
        at = {name: first + index for index, name in enumerate(old_metrics)}
        path, part = self.path / RESULTS_NAME, self.path / (RESULTS_NAME + ".part")
        with (
            open(path, encoding="utf-8", newline="") as old,
            open(part, "w", encoding="utf-8", errors=UNENCODABLE, newline="") as new,
        ):
            rows, writer = csv_reader(old), csv.writer(new)
            next(rows, None)
            writer.writerow(columns.header())
            for row in rows:
                cells = [row[at[name]] if name in at else "" for name in columns.metrics]
                writer.writerow([*row[:first], *cells, *row[first + width :]])
        self._replace_results(part)
        self.columns = columns

    def _row(self, result: JobResult, columns: ResultColumns | None = None) -> list[Any]:
        model_ref = self._model_refs.get(result.model, "")
        row = (columns or self.columns).cells(result, self.run_id, model_ref)
        return redact_cells(row)

    def journal(self, event: str, **fields: Any) -> None:
        """Append one event to `journal.jsonl` and flush it, so a crash loses at most this line."""
        line = _journal_line(event, utc_now_iso(), fields)
        with self._lock:
            assert self._journal is not None, "open() the run folder first"
            self._journal.write(line)
            self._journal.flush()

    def record(self, result: JobResult) -> None:
        """Journal a finished job and append its `results.csv` row."""
        self.record_all((result,))

    def record_all(self, results: Sequence[JobResult]) -> None:
        """Journal finished jobs, then append their `results.csv` rows: one write to each file for all.

        The jobs that finished together (the writer found them done at once) are written together;
        each journal line is whole before any of their rows is written, as for one job.
        """
        now = utc_now_iso()
        lines = "".join(_finished_line(now, result) for result in results)
        with self._lock:
            assert self._journal is not None and self._results is not None, "open() the run folder first"
            self._journal.write(lines)
            self._journal.flush()
            for result in results:
                new = [name for name in result.metrics if name not in self.columns.metrics]
                if new:
                    self._widen(new)
                self._results_writer.writerow(self._row(result))
                self._counts[result.status] += 1
                if self.tally is not None:
                    self.tally.add(result)
            self._results.flush()

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


# Made once: `json.dumps` with options builds an encoder for every line, a tenth of a line's cost.
_JOURNAL_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


def _journal_line(event: str, time: str, fields: Mapping[str, Any]) -> str:
    """One journal event as its line, redacted."""
    return redact(_JOURNAL_JSON.encode({"event": event, "time": time, **fields})) + "\n"


def _finished_line(time: str, result: JobResult) -> str:
    """A finished job's journal line, as `_journal_line` writes events: `result`, its last member, gets
    the scores' JSON made once per job outcome (`journal_scores`) put in at its end, not encoded again."""
    line = _JOURNAL_JSON.encode(
        {"event": "finished", "time": time, "job_id": result.job_id, "result": result.journal_fields()}
    )
    return redact(f"{line[:-2]}, {result.journal_scores()}}}}}") + "\n"


def _replace_text(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8", errors=UNENCODABLE)
    os.replace(part, path)
