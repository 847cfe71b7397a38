"""Run a whole batch: resolve models, check everything, run jobs in a pool, leave a run folder."""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .backends.base import Backend, BackendSetupError, ModelInfo, TokenRejected
from .backends.factory import TOKEN_VARIABLE, BackendFactory, make_backends
from .clock import SYSTEM_CLOCK, Clock, utc_now_iso
from .execution.download import Downloader
from .execution.executor import Execution, ModelRuntime, UploadCache
from .execution.progress import Progress, summary_table
from .execution.ratelimit import TokenBucket
from .execution.retry import RetryPolicy
from .jobs import Job, ModelPlan, count_jobs, expand_jobs
from .plan import describe_plan
from .preflight import check_rows
from .reports.page import try_write_report
from .rows.rowfile import RowsChanged
from .rows.rowset import Rows, load_rows
from .runfolder.journal import JournalState
from .runfolder.results import JobResult
from .runfolder.resume import final_results, load_resume_state, previous_manifest
from .runfolder.writer import RunFolder
from .schema import parse_schema
from .sharding import Shard, parse_shard
from .spec.model import BatchSpec, LoadedSpec, load_spec, parse_spec
from .spec.problems import Problem, SpecError
from .terminal import say

# Creates go a little under `rate_limit`: where the server allows a burst of one (low-credit accounts:
# 6/min), creates that arrive a few ms early are refused and each refusal costs a whole slot.
CREATE_PACE = 0.98
EXIT_OK, EXIT_FAILURES, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
# After an interrupt, how long (real seconds) jobs get to record how they ended (a cancel, a download)
# before the run stops waiting for them; `--resume` continues whatever they leave.
STOP_GRACE_S = 5.0


class Interrupted(Exception):
    """The run was interrupted; its state was saved. Carries the summary so far."""

    def __init__(
        self, summary: RunSummary, *, leave_running: bool = False, workers_left: bool = False
    ) -> None:
        super().__init__(f"interrupted; resume with --resume {summary.run_dir}")
        self.summary = summary
        #: A second Ctrl-C left predictions running: the caller should exit at once.
        self.leave_running = leave_running
        #: Worker threads are still blocked (in a create whose answer was abandoned, say); they
        #: write nothing more, but a process that waited for them could wait a minute: exit at once.
        self.workers_left = workers_left


class RunStopped(Interrupted):
    """The rows file changed under a running run: it stopped there, its state saved (exit 130).

    Jobs in flight were finished and recorded; the run folder can be resumed once the file is as it
    was. `problems` say what changed and what to do.
    """

    def __init__(self, changed: RowsChanged, summary: RunSummary) -> None:
        super().__init__(summary)
        self.problems = [
            *changed.problems,
            Problem(
                str(summary.run_dir),
                "",
                "the run stopped there; the jobs it had started were finished and recorded. Put the rows "
                f"file back as it was and continue with --resume {summary.run_dir}, or start a new run for "
                "the new rows",
            ),
        ]


@dataclass(frozen=True)
class RunSummary:
    """How a run ended: its folder, counts by status and the exit code the CLI uses."""

    run_dir: Path | None
    jobs: int
    counts: Mapping[str, int]
    exit_code: int
    table: str = ""
    notes: Sequence[str] = ()
    interrupted: bool = False


@dataclass
class _Prepared:
    loaded: LoadedSpec
    rows: Rows
    plans: list[ModelPlan]
    backends: list[Backend]
    versions: list[str | None]
    notes: list[str] = field(default_factory=list)
    files: int = 0
    shard: Shard | None = None

    def jobs(self) -> Iterator[Job]:
        """This run's jobs (this shard's, with `--shard`), expanded lazily in a stable order."""
        jobs = expand_jobs(self.loaded, self.plans, self.rows)
        shard = self.shard
        return jobs if shard is None else (job for job in jobs if shard.takes(job.job_id))

    def job_counts(self) -> dict[str, int]:
        """Jobs per model, counted without keeping them."""
        if self.shard is None:
            return count_jobs(self.loaded, self.plans, self.rows)
        counts = dict.fromkeys((plan.name for plan in self.plans), 0)
        for job in self.jobs():
            counts[job.model] += 1
        return counts


def _load(spec: str | Path | Mapping[str, Any] | BatchSpec) -> LoadedSpec:
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    if isinstance(spec, BatchSpec):
        return parse_spec(spec.model_dump())
    return parse_spec(spec)


def prepare(
    loaded: LoadedSpec,
    *,
    concurrency: int,
    clock: Clock = SYSTEM_CLOCK,
    backends: BackendFactory = make_backends,
) -> _Prepared:
    """Everything before the first create: rows, backends, versions, schemas, preflight."""
    rows = load_rows(loaded)
    built = backends(loaded, concurrency=concurrency, clock=clock)
    if len(built) != len(loaded.spec.models):
        stop_backends(built)
        raise ValueError(
            f"the backend factory built {len(built)} backends for {len(loaded.spec.models)} models"
        )
    prepared = _Prepared(loaded, rows, [], built, [])
    try:
        problems: list[Problem] = []
        for index, (backend, model, name) in enumerate(zip(built, loaded.spec.models, loaded.model_names)):
            try:
                info = backend.start()
            except BackendSetupError as error:
                problem = (
                    Problem("environment", TOKEN_VARIABLE, str(error))
                    if isinstance(error, TokenRejected)
                    else Problem(loaded.source, f"models[{index}]", f"`{name}`: {error}")
                )
                if problem not in problems:  # a rejected token is said once, not once per model
                    problems.append(problem)
                info = ModelInfo(version=None, openapi_schema=None)  # its rows are still checked
            schema = parse_schema(info.openapi_schema)
            keys = tuple(k for k in loaded.spec.matrix if schema.accepts(k))
            prepared.plans.append(ModelPlan(index, name, model.spec_ref(), schema, dict(model.input), keys))
            prepared.versions.append(info.version)
        checked = check_rows(loaded, prepared.plans, rows)
        if problems or checked.problems:
            raise SpecError([*problems, *checked.problems])
        prepared.notes, prepared.files = checked.notes, len(checked.files)
    except BaseException:
        stop_backends(built)
        raise
    return prepared


def stop_backends(backends: Sequence[Backend]) -> None:
    """Stop every backend, even if one fails to stop."""
    for backend in backends:
        with contextlib.suppress(Exception):
            backend.stop()


def _columns(prepared: _Prepared) -> tuple[list[str], list[str]]:
    """results.csv's input and metadata columns: what some model takes, then defaults and matrix keys."""
    rows, plans = prepared.rows, prepared.plans
    inputs = dict.fromkeys(k for k in rows.value_names if any(p.takes(k) for p in plans))
    for plan in plans:
        inputs.update(dict.fromkeys(plan.defaults))
    inputs.update(dict.fromkeys(prepared.loaded.spec.matrix))
    return list(inputs), list(rows.metadata_names)


def plan_text(prepared: _Prepared, concurrency: int, limit: int | None) -> str:
    """The dry-run plan: predictions per model, total, files to upload, expected duration."""
    spec = prepared.loaded.spec
    return describe_plan(
        prepared.job_counts(),
        limit=limit,
        files=prepared.files,
        concurrency=concurrency,
        rate_limit_per_min=spec.rate_limit,
        caps={plan.name: spec.models[plan.index].concurrency for plan in prepared.plans},
    )


def run_batch(
    spec: str | Path | Mapping[str, Any] | BatchSpec,
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
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    backends: BackendFactory | None = None,
) -> RunSummary:
    """Run a spec (a path, a mapping or a BatchSpec) and return how it ended.

    `resume` continues the run in that folder: succeeded jobs are kept, predictions created but not
    finished are picked up by id, the rest run. `shard` ("K/N") runs only the K-th of N
    deterministic slices of the jobs (by `job_id`). `backends` builds the models' backends
    (default: Replicate for refs, Cog for local models); tests and benchmarks pass in-process doubles.
    Raises SpecError (nothing was created) or
    Interrupted (state saved, resumable).
    """
    clock = clock or SYSTEM_CLOCK
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    loaded = _load(spec)
    concurrency = concurrency or loaded.spec.concurrency
    state = load_resume_state(Path(resume), loaded, force=force) if resume is not None else None
    if isinstance(shard, str):
        try:
            shard = parse_shard(shard)
        except ValueError as error:
            raise SpecError.single("--shard", "", str(error)) from None
    prepared = prepare(loaded, concurrency=concurrency, clock=clock, backends=backends or make_backends)
    prepared.shard = shard
    try:
        if not quiet:
            for note in prepared.notes:
                say(f"note: {note}", err)
        if dry_run:
            text = plan_text(prepared, concurrency, limit)
            say(text, out)
            total = sum(prepared.job_counts().values())
            return RunSummary(
                None,
                total if limit is None else min(limit, total),
                {},
                EXIT_OK,
                text,
                prepared.notes,
            )
        target = Path(resume) if resume is not None else Path(output_dir or loaded.spec.output_dir)
        return _execute(prepared, target, state, concurrency, limit, quiet, clock, out, err)
    finally:
        stop_backends(prepared.backends)


def _execute(
    prepared: _Prepared,
    target: Path,
    state: JournalState | None,
    concurrency: int,
    limit: int | None,
    quiet: bool,
    clock: Clock,
    out: TextIO,
    err: TextIO,
) -> RunSummary:
    loaded = prepared.loaded
    spec = loaded.spec
    inputs, metadata = _columns(prepared)

    all_jobs = prepared.jobs
    refs = {plan.name: plan.model_ref for plan in prepared.plans}
    total = everything = sum(prepared.job_counts().values())
    if state is None:
        folder = RunFolder.create(target, loaded.name, inputs, metadata)
        folder.open(loaded.canonical_yaml(), refs, loaded.spec_hash())
        manifest: dict[str, Any] = {"started_at": utc_now_iso()}
        jobs = all_jobs()
    else:
        kept = [result for job in all_jobs() if (result := state.kept(job.job_id)) is not None]
        folder = RunFolder.reopen(target, inputs, metadata)
        folder.open(loaded.canonical_yaml(), refs, loaded.spec_hash(), kept)
        manifest = previous_manifest(target)
        manifest.setdefault("resumed_at", []).append(utc_now_iso())
        jobs = (job for job in all_jobs() if state.kept(job.job_id) is None)
        total -= len(kept)
    if limit is not None:
        jobs = itertools.islice(jobs, limit)
        total = min(limit, total)
    changed: list[RowsChanged] = []
    jobs = _until_rows_change(jobs, changed)
    manifest.update(
        name=loaded.name,
        spec=str(loaded.path) if loaded.path else None,
        spec_dir=str(loaded.base_dir),
        spec_hash=loaded.spec_hash(),
        status="running",
        jobs=everything,
        shard=str(prepared.shard) if prepared.shard else None,
        models=[
            {"name": p.name, "model_ref": p.model_ref, "version": v}
            for p, v in zip(prepared.plans, prepared.versions)
        ],
    )
    manifest.pop("error", None)  # a resume of a stopped run: that error is past
    folder.write_manifest(manifest)
    policy = RetryPolicy(spec.retry, clock)
    execution = Execution(
        folder=folder,
        policy=policy,
        creates=TokenBucket(spec.rate_limit * CREATE_PACE, clock),
        polls=TokenBucket.at_most(spec.poll_limit, clock),
        downloader=Downloader(policy),
        clock=clock,
        timeout_s=spec.timeout,
        repeats=spec.repeat,
    )
    runtimes = {
        plan.name: ModelRuntime(
            plan.name,
            backend,
            plan.schema,
            version,
            UploadCache(backend, policy),
            threading.Semaphore(model.concurrency) if model.concurrency else None,
        )
        for plan, backend, version, model in zip(
            prepared.plans, prepared.backends, prepared.versions, spec.models
        )
    }
    progress = Progress(total, quiet=quiet, clock=clock, stream=err, models=list(runtimes))
    interrupted = hard = left = False
    crash: BaseException | None = None
    try:
        interrupted, hard, left = _pump(jobs, runtimes, execution, folder, progress, concurrency, state)
    except BaseException as error:
        crash = error
        raise
    finally:
        progress.close()
        execution.downloader.close()
        if state is not None and not changed:
            try:
                folder.rewrite_results(final_results(target, all_jobs()))
            except RowsChanged as error:  # results.csv keeps its rows as they were appended
                changed.append(error)
        status = "interrupted" if interrupted else "stopped" if changed else "finished"
        if crash is not None:  # never `finished` when the run did not get there
            status = "interrupted" if isinstance(crash, KeyboardInterrupt) else "crashed"
        manifest.update(finished_at=utc_now_iso(), status=status)
        if changed:
            manifest["error"] = "; ".join(p.message for p in changed[0].problems)
        elif crash is not None:
            manifest["error"] = f"{type(crash).__name__}: {crash}"
        folder.write_manifest(manifest)
        folder.close()
    try_write_report(folder.path, err)  # a report failure is only a warning
    counts = folder.counts
    table = summary_table(dict(progress.tallies))
    exit_code = EXIT_FAILURES if set(counts) - {"succeeded"} else EXIT_OK
    summary = RunSummary(
        folder.path,
        total,
        counts,
        EXIT_INTERRUPTED if interrupted or changed else exit_code,
        table,
        prepared.notes,
        interrupted,
    )
    if not quiet or interrupted or changed:
        say(table, out)
        say(f"run folder: {folder.path}", out)
    if interrupted:
        raise Interrupted(summary, leave_running=hard, workers_left=left)
    if changed:
        raise RunStopped(changed[0], summary)
    return summary


def _until_rows_change(jobs: Iterator[Job], changed: list[RowsChanged]) -> Iterator[Job]:
    """The jobs, ending early where the rows file turns out to have changed (the error kept in `changed`).

    The jobs are expanded while the run goes on, reading the rows file again for each model: ending
    the feed there lets the jobs in flight finish and be recorded before the run stops.
    """
    try:
        yield from jobs
    except RowsChanged as error:
        changed.append(error)


def _pump(
    jobs: Iterator[Job],
    runtimes: Mapping[str, ModelRuntime],
    execution: Execution,
    folder: RunFolder,
    progress: Progress,
    concurrency: int,
    state: JournalState | None,
) -> tuple[bool, bool, bool]:
    """Feed jobs to the pool, at most `concurrency` queued beyond those running.

    Returns (interrupted, predictions left running, worker threads left behind): a first Ctrl-C
    cancels what runs and waits a little for it (creates still waiting for their answer are looked
    up instead), a second one leaves it.
    """
    pending: set[Future[JobResult]] = set()
    job_ids: dict[Future[JobResult], str] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
    interrupted = hard = left = False

    def collect(done: set[Future[JobResult]]) -> None:
        escaped: BaseException | None = None  # raised once every other finished job is recorded
        for future in done:
            job_ids.pop(future, None)
            if future.cancelled():
                continue
            if (error := future.exception()) is not None:
                escaped = escaped or error
                continue
            result = future.result()
            folder.record(result)
            progress.add(result, execution.count_in_flight())
        if escaped is not None:
            raise escaped

    try:
        for job in jobs:
            while len(pending) >= 2 * concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
            pickup = state.pickups.get(job.job_id) if state else None
            tries = state.tries.get(job.job_id, 0) if state else 0
            future = pool.submit(execution.run_job, job, runtimes[job.model], pickup, tries)
            job_ids[future] = job.job_id
            pending.add(future)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            collect(done)
    except KeyboardInterrupt:
        interrupted = True
        execution.stop.set()
        for future in pending:
            future.cancel()
        try:
            execution.cancel_in_flight()
            abandoned, results = execution.abandon_creates()
            for result in results:
                folder.record(result)
                progress.add(result, execution.count_in_flight())
            pending = {f for f in pending if job_ids.get(f) not in abandoned}
            done, pending = wait(pending, timeout=STOP_GRACE_S)
            collect(done)
            left = bool(abandoned or pending)
        except KeyboardInterrupt:
            execution.cancel_on_stop = False  # a second Ctrl-C: leave predictions, exit now
            hard = left = True
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    return interrupted, hard, left
