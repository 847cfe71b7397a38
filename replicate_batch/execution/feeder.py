"""Feeding jobs to the worker pool, collecting their results, and what a Ctrl-C (or two) does to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ..jobs import Job
from ..runfolder.journal import JournalState, Pickup
from ..runfolder.results import JobResult
from ..runfolder.writer import RunFolder
from .executor import Execution, ModelRuntime
from .progress import Progress

# What happens to a job's result in its worker thread before it is recorded: the run's scoring.
ScoreStep = Callable[[JobResult, Job], JobResult]

# After an interrupt, how long (real seconds) jobs get to record how they ended (a cancel, a download)
# before the run stops waiting for them; `--resume` continues whatever they leave.
STOP_GRACE_S = 5.0


def feed_jobs(
    jobs: Iterator[Job],
    runtimes: Mapping[str, ModelRuntime],
    execution: Execution,
    folder: RunFolder,
    progress: Progress,
    concurrency: int,
    state: JournalState | None,
    score: ScoreStep | None = None,
    first: Iterable[tuple[str, Callable[[], None]]] = (),
) -> tuple[bool, bool, bool]:
    """Feed jobs to the pool, at most `concurrency` queued beyond those running.

    Returns (interrupted, predictions left running, worker threads left behind): a first Ctrl-C
    cancels what runs and waits a little for it (creates still waiting for their answer are looked
    up instead), a second one leaves it. `score` runs in the worker, right after the job. `first`
    are (job id, task) that record nothing (judging the results a resume keeps), fed before the jobs.
    """
    pending: set[Future[JobResult | None]] = set()
    owners: dict[Future[JobResult | None], str] = {}  # each future's job id
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job")
    interrupted = hard = left = False

    def collect(done: set[Future[JobResult | None]]) -> None:
        escaped: BaseException | None = None  # raised once every other finished job is recorded
        results: list[JobResult] = []
        for future in done:
            owners.pop(future, None)
            if future.cancelled():
                continue
            if (error := future.exception()) is not None:
                escaped = escaped or error
                continue
            result = future.result()
            if result is None:  # a task of `first`
                continue
            results.append(result)
        if results:
            folder.record_all(results)
            in_flight = execution.count_in_flight()
            for result in results:
                progress.add(result, in_flight)
        if escaped is not None:
            raise escaped

    def make_room() -> None:
        nonlocal pending
        while len(pending) >= 2 * concurrency:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            collect(done)

    try:
        for job_id, task in first:
            make_room()
            future: Future[JobResult | None] = pool.submit(_task, task)
            owners[future] = job_id
            pending.add(future)
        for job in jobs:
            make_room()
            pickup = state.pickups.get(job.job_id) if state else None
            tries = state.tries.get(job.job_id, 0) if state else 0
            future = pool.submit(_run, execution, score, job, runtimes[job.model], pickup, tries)
            owners[future] = job.job_id
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
            pending = {f for f in pending if owners.get(f) not in abandoned}
            done, pending = wait(pending, timeout=STOP_GRACE_S)
            collect(done)
            left = bool(abandoned or pending)
        except KeyboardInterrupt:
            execution.cancel_on_stop = False  # a second Ctrl-C: leave predictions, exit now
            hard = left = True
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    return interrupted, hard, left


def _run(
    execution: Execution,
    score: ScoreStep | None,
    job: Job,
    runtime: ModelRuntime,
    pickup: Pickup | None,
    tries: int,
) -> JobResult | None:
    """A worker's task: run the job, then score it (python scorers run in parallel this way)."""
    result = execution.run_job(job, runtime, pickup, tries)
    return result if score is None else score(result, job)


def _task(task: Callable[[], None]) -> JobResult | None:
    """A worker's task of `first`: it records nothing."""
    task()
    return None
