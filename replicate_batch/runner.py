"""Run a whole batch, in named steps: prepare, open the run folder, execute, finish, summarise.

The library prints nothing here: notes, warnings and the summary table come back in `RunSummary` (or
through `on_note` as they are found); the progress display (preparation aside) is the only output,
on `stderr`, and `quiet` turns it off. (About 420 lines: `run_batch` and its steps, each short;
scoring is `scoring.RunScoring`'s, judging `execution.judging.Judging`'s; the resume's steps
(`score_kept`, `finish`) are the part that could move out.)
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .backends.factory import BackendFactory, make_backends
from .clock import SYSTEM_CLOCK, Clock, utc_now_iso
from .errors import Interrupted, RowsChanged, RunStopped, SpecError
from .execution.download import Downloader
from .execution.executor import Execution, ModelRuntime
from .execution.feeder import feed_jobs
from .execution.judging import JudgeStats, Judging
from .execution.progress import Progress, judge_table
from .execution.ratelimit import TokenBucket
from .execution.retry import RetryPolicy
from .execution.uploads import UploadCache
from .jobs import Job
from .plan import limit_counts
from .preparation import PreparedRun, plan_text, prepare, result_columns
from .reports.page import try_write_report
from .runfolder.journal import JournalState, JudgeJournal
from .runfolder.manifest import Manifest, ManifestModel, read_manifest
from .runfolder.results import JobResult
from .runfolder.resume import final_results, load_resume_state
from .runfolder.writer import RunFolder
from .scoring.board import Aggregates, GroupAggregates
from .scoring.run_scoring import RunScoring, ScoringOutcome
from .sharding import Shard, parse_shard
from .spec.loading import LoadedSpec, load_spec, parse_spec
from .spec.model import BatchSpec

# Creates go a little under `rate_limit`: where the server allows a burst of one (low-credit accounts:
# 6/min), creates that arrive a few ms early are refused and each refusal costs a whole slot.
CREATE_PACE = 0.98
EXIT_OK, EXIT_FAILURES, EXIT_INVALID, EXIT_THRESHOLD, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

SpecInput = str | Path | Mapping[str, Any] | BatchSpec | LoadedSpec


@dataclass(frozen=True)
class RunSummary:
    """How a run ended: its folder, counts by status, the exit code the CLI uses, and what to tell.

    `table` is the summary table (the plan, for a dry run; with judges, then a line per judge);
    `notes` what preflight noticed; `warnings` what went wrong without failing the run (a report
    that could not be written). `scores` (per model and scorer) and `scores_by` (per group field and
    value) are the aggregates the manifest holds; `gate_failures` says which thresholds were not met
    (exit 3 when no job failed). `judges`: per judge scorer, its predictions, failures, reuses and
    predict time.
    """

    run_dir: Path | None
    jobs: int
    counts: Mapping[str, int]
    exit_code: int
    table: str = ""
    notes: Sequence[str] = ()
    interrupted: bool = False
    warnings: Sequence[str] = ()
    scores: Aggregates = field(default_factory=dict)
    scores_by: GroupAggregates = field(default_factory=dict)
    gate_failures: Sequence[str] = ()
    judges: Sequence[JudgeStats] = ()


def run_batch(
    spec: SpecInput,
    *,
    output_dir: str | Path | None = None,
    concurrency: int | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    quiet: bool = False,
    resume: str | Path | None = None,
    force: bool = False,
    shard: Shard | str | None = None,
    clock: Clock | None = None,
    stderr: TextIO | None = None,
    on_note: Callable[[str], None] | None = None,
    backends: BackendFactory | None = None,
) -> RunSummary:
    """Run a spec and return how it ended.

    `spec` is what `load_spec` returns, a path, a mapping or a BatchSpec (whose relative paths, having
    no spec file, point from the current directory). `resume` continues the run in that folder:
    succeeded jobs are kept, predictions created but not finished are picked up by id, the rest run.
    `shard` ("K/N") runs only the K-th of N deterministic slices of the jobs (by `job_id`). Progress
    goes to `stderr` unless `quiet`; `on_note` hears each preflight note before the run starts.
    `backends` builds the models' backends (default: Replicate for refs, Cog for local models); tests
    and benchmarks pass in-process doubles. Raises SpecError or ResumeRefused (nothing was created),
    Interrupted (state saved, resumable), or another ReplicateBatchError.
    """
    clock = clock or SYSTEM_CLOCK
    loaded = _load(spec)
    concurrency = concurrency or loaded.spec.concurrency
    state = load_resume_state(Path(resume), loaded, force=force) if resume is not None else None
    prepared = prepare(loaded, concurrency=concurrency, clock=clock, backends=backends or make_backends)
    prepared.shard = _shard(shard)
    try:
        if on_note is not None:
            for note in prepared.notes:
                on_note(note)
        if dry_run:
            total = sum(prepared.job_counts().values())
            table = plan_text(prepared, concurrency, limit)
            jobs = total if limit is None else min(limit, total)
            return RunSummary(None, jobs, {}, EXIT_OK, table, prepared.notes)
        target = Path(resume) if resume is not None else Path(output_dir or loaded.spec.output_dir)
        run = _Run(prepared, state, concurrency, limit, quiet, clock, stderr or sys.stderr)
        return run.execute(target)
    finally:
        prepared.stop()


def _load(spec: SpecInput) -> LoadedSpec:
    if isinstance(spec, LoadedSpec):
        return spec
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    if isinstance(spec, BatchSpec):
        return parse_spec(spec.model_dump())
    return parse_spec(spec)


def _shard(shard: Shard | str | None) -> Shard | None:
    if not isinstance(shard, str):
        return shard
    try:
        return parse_shard(shard)
    except ValueError as error:
        raise SpecError.single("--shard", "", str(error)) from None


class _Run:
    """One execution of a prepared run, in the steps `execute` names."""

    def __init__(
        self,
        prepared: PreparedRun,
        state: JournalState | None,
        concurrency: int,
        limit: int | None,
        quiet: bool,
        clock: Clock,
        stderr: TextIO,
    ) -> None:
        self.prepared = prepared
        self.state = state  # the journal of the run being resumed, or None for a new run
        self.concurrency = concurrency
        self.limit = limit
        self.quiet = quiet
        self.clock = clock
        self.stderr = stderr
        self.changed: list[RowsChanged] = []  # a rows file that changed under the run, once found
        self.scoring: RunScoring | None = None  # once the run folder is known
        self.outcome = ScoringOutcome()  # the aggregates, once the run folder is finished
        self.kept: dict[str, JobResult] = {}  # on resume: the results kept, scored again, by job id
        self.judging: Judging | None = None  # with judge scorers, once the run folder is known
        self.later: list[tuple[str, Callable[[], None]]] = []  # kept results to judge in the pool

    def execute(self, target: Path) -> RunSummary:
        """Open the folder, run the jobs, finish the folder (whatever happened), summarise."""
        folder, manifest, jobs, total = self.open_folder(target)
        judging = self.judging
        progress = Progress(
            total,
            quiet=self.quiet,
            clock=self.clock,
            stream=self.stderr,
            models=self.prepared.model_names,
            judging=(lambda: judging.tally.progress) if judging is not None else None,
        )
        progress.keep(self.kept.values())
        execution = self.wire(folder)
        if judging is not None:  # from now on, judge predictions go through the run's executor
            judging.execution, judging.predicting = execution, True
        interrupted = hard = left = False
        crash: BaseException | None = None
        try:
            runtimes = self.runtimes(execution.policy)
            interrupted, hard, left = feed_jobs(
                jobs,
                runtimes,
                execution,
                folder,
                progress,
                self.concurrency,
                self.state,
                self.score,
                first=self.later,
            )
        except BaseException as error:
            crash = error
            raise
        finally:
            progress.close()
            execution.downloader.close()
            self.finish(folder, manifest, interrupted, crash)
        summary = self.summarise(folder, progress, total, interrupted)
        if interrupted:
            raise Interrupted(summary, leave_running=hard, workers_left=left)
        if self.changed:
            raise RunStopped(self.changed[0], summary)
        return summary

    def open_folder(self, target: Path) -> tuple[RunFolder, Manifest, Iterator[Job], int]:
        """A new run folder, or the resumed one with its succeeded results kept; the jobs left to run.

        Returns the folder, its manifest (already written: `running`), the jobs and how many they are.
        """
        prepared, state, loaded = self.prepared, self.state, self.prepared.loaded
        columns = result_columns(prepared)
        refs = {model.name: model.model_ref for model in prepared.models}
        total = everything = sum(prepared.job_counts().values())
        if state is None:
            folder = RunFolder.create(target, loaded.name, columns)
            self.start_scoring(folder)
            folder.open(loaded.canonical_yaml(), refs, loaded.spec_hash())
            manifest = Manifest(started_at=utc_now_iso())
            jobs = prepared.jobs()
        else:
            folder = RunFolder.reopen(target, columns)
            self.start_scoring(folder)
            # Kept results are scored again: the scorers may have changed (`--resume --force`).
            self.kept = {
                job.job_id: self.score_kept(result, job)
                for job in prepared.jobs()
                if (result := state.succeeded_result(job.job_id)) is not None
            }
            succeeded = list(self.kept.values())
            folder.open(loaded.canonical_yaml(), refs, loaded.spec_hash(), succeeded)
            manifest = read_manifest(target) or Manifest()
            manifest.resumed_at.append(utc_now_iso())
            jobs = (job for job in prepared.jobs() if state.succeeded_result(job.job_id) is None)
            total -= len(succeeded)
        if self.limit is not None:
            jobs = itertools.islice(jobs, self.limit)
            total = min(self.limit, total)
        if self.judging is not None:
            counts = Counter(prepared.job_counts()) - Counter(r.model for r in self.kept.values())
            self.judging.expect_jobs(limit_counts(counts, self.limit))
            manifest.judges = self.judging.manifest_entries()
        manifest.name = loaded.name
        manifest.spec = str(loaded.path) if loaded.path else None
        manifest.spec_dir = str(loaded.base_dir)
        manifest.spec_hash = loaded.spec_hash()
        manifest.status = "running"
        manifest.jobs = everything
        manifest.shard = str(prepared.shard) if prepared.shard else None
        manifest.models = [
            ManifestModel(model.name, model.model_ref, version)
            for model, version in zip(prepared.models, prepared.versions)
        ]
        manifest.error = None  # a resume of a stopped run: that error is past
        folder.write_manifest(manifest)
        return folder, manifest, self._until_rows_change(jobs), total

    def start_scoring(self, folder: RunFolder) -> RunScoring:
        """The run's scoring, its aggregates following what the folder's results.csv holds.

        Judges reuse the replies the journal holds; until the pool runs they make no prediction
        (`score_kept`).
        """
        prepared, spec = self.prepared, self.prepared.loaded.spec
        if prepared.judges is not None:
            journal = self.state.judges if self.state is not None else JudgeJournal()
            self.judging = Judging(None, prepared.judges, prepared.loaded, journal)
            self.judging.predicting = False
        self.scoring = RunScoring(
            prepared.scorers,
            folder.path,
            models=prepared.model_names,
            repeat=spec.repeat,
            group_by=spec.group_by,
            judge=self.judging.step if self.judging is not None else None,
        )
        folder.tally = self.scoring.board
        return self.scoring

    def score(self, result: JobResult, job: Job) -> JobResult:
        """A finished job's result with its scores (in the worker thread that ran it)."""
        assert self.scoring is not None, "open the run folder first"
        if self.judging is not None:
            self.judging.job_ended(result)
        return self.scoring.score(result, job.row)

    def score_kept(self, result: JobResult, job: Job) -> JobResult:
        """A result `--resume` keeps, scored again; one a judge has no reply for yet is judged in the pool.

        Until the pool runs, such a result keeps its judge's note `not judged yet` (`later` has it).
        """
        assert self.scoring is not None, "open the run folder first"
        judging = self.judging
        if judging is None:
            return self.scoring.score(result, job.row)
        judging.expect_jobs({result.model: 1})
        deferred = judging.deferred
        scored = self.scoring.score(result, job.row)
        if judging.deferred > deferred:
            self.later.append((job.job_id, functools.partial(self._judge_kept, result, job)))
        return scored

    def _judge_kept(self, result: JobResult, job: Job) -> None:
        """A pool task: a kept result judged, its predictions made now (`finish` writes it)."""
        self.kept[job.job_id] = self.score_kept(result, job)

    def wire(self, folder: RunFolder) -> Execution:
        """The shared machinery every job runs through: retries, rate limits, downloads."""
        return wire_execution(folder, self.prepared.loaded.spec, self.clock)

    def runtimes(self, policy: RetryPolicy) -> dict[str, ModelRuntime]:
        """What each model's jobs share: its backend, schema, version, uploads and concurrency cap."""
        prepared = self.prepared
        specs = prepared.loaded.spec.models
        return {
            model.name: ModelRuntime(
                model.name,
                backend,
                model.schema,
                version,
                UploadCache(backend, policy),
                threading.Semaphore(spec.concurrency) if spec.concurrency else None,
            )
            for model, backend, version, spec in zip(
                prepared.models, prepared.backends, prepared.versions, specs
            )
        }

    def finish(
        self, folder: RunFolder, manifest: Manifest, interrupted: bool, crash: BaseException | None
    ) -> None:
        """Leave the folder consistent: one result per job on resume, the final status, the lock released."""
        if self.state is not None and not self.changed:
            try:
                results = final_results(folder.path, self.prepared.jobs())
                # The journal has the kept results as they were first scored; these are scored now.
                folder.rewrite_results([self.kept.get(r.job_id, r) for r in results])
            except RowsChanged as error:  # results.csv keeps its rows as they were appended
                self.changed.append(error)
        status = "interrupted" if interrupted else "stopped" if self.changed else "finished"
        if crash is not None:  # never `finished` when the run did not get there
            status = "interrupted" if isinstance(crash, KeyboardInterrupt) else "crashed"
        manifest.finished_at, manifest.status = utc_now_iso(), status
        if self.changed:
            manifest.error = "; ".join(p.message for p in self.changed[0].problems)
        elif crash is not None:
            manifest.error = f"{type(crash).__name__}: {crash}"
        if self.scoring is not None:  # computed once: a bootstrap over many rows takes seconds
            self.outcome = self.scoring.outcome()
            self.scoring.write_into(manifest, self.outcome)
            folder.tally = None
            self.scoring.board.reset()  # its memory is the report's to use
        folder.write_manifest(manifest)
        folder.close()

    def summarise(self, folder: RunFolder, progress: Progress, total: int, interrupted: bool) -> RunSummary:
        """Write report.html (a failure is only a warning) and say how the run ended."""
        _, warning = try_write_report(folder.path)
        counts = folder.counts
        assert self.scoring is not None
        outcome = self.outcome
        exit_code = exit_status(counts, outcome.gate_failures)
        table = self.scoring.summary(progress.tally.stats(every_model=True), outcome)
        judges = self.judging.tally.stats() if self.judging is not None else []
        return RunSummary(
            folder.path,
            total,
            counts,
            EXIT_INTERRUPTED if interrupted or self.changed else exit_code,
            f"{table}\n\n{judge_table(judges)}" if judges else table,
            self.prepared.notes,
            interrupted,
            [warning] if warning else [],
            outcome.scores,
            outcome.scores_by,
            outcome.gate_failures,
            judges,
        )

    def _until_rows_change(self, jobs: Iterator[Job]) -> Iterator[Job]:
        """The jobs, ending early where the rows file turns out to have changed (kept in `changed`).

        The jobs are expanded while the run goes on, reading the rows file again for each model: ending
        the feed there lets the jobs in flight finish and be recorded before the run stops.
        """
        try:
            yield from jobs
        except RowsChanged as error:
            self.changed.append(error)


def wire_execution(folder: RunFolder, spec: BatchSpec, clock: Clock) -> Execution:
    """The machinery every prediction of a run (or `rescore`) goes through: retries, budgets, downloads."""
    policy = RetryPolicy(spec.retry, clock)
    return Execution(
        folder=folder,
        policy=policy,
        creates=TokenBucket(spec.rate_limit * CREATE_PACE, clock),
        polls=TokenBucket.at_most(spec.poll_limit, clock),
        downloader=Downloader(policy),
        clock=clock,
        timeout_s=spec.timeout,
        repeats=spec.repeat,
    )


def exit_status(counts: Mapping[str, int], gate_failures: Sequence[str]) -> int:
    """1 when a job failed or was canceled; else 3 when a threshold was not met; else 0."""
    if set(counts) - {"succeeded"}:
        return EXIT_FAILURES
    return EXIT_THRESHOLD if gate_failures else EXIT_OK
