"""One job from create to downloaded files: retries, polling, timeout, interrupt. Returns data.

What never pays twice lives here. A job goes through these states (`run_job`):

    waiting      for its model's slot (`concurrency:` of the entry), then for a create token (rate limit)
    creating     "creating" journaled with the exact input *before* the request is sent (`_sending`)
    created      the id is known: "created" journaled, the prediction is `in_flight`, polled to its end
    downloading  its output files fetched into files/; then the JobResult is returned, never raised

A create whose answer is lost (`Unreachable`) may exist: it is looked up by its input before anything
is created again (`_recover_lost_create`). On an interrupt (`stop`), predictions in flight are
canceled and creates still waiting for their answer are abandoned and looked up (`abandon_creates`).
On `--resume` a job the journal shows as created is picked up (`_adopt`): polled by id, or looked up
by the input journaled before its create; one whose files the server deleted is created anew
(`_OutputsGone`).

A judge's prediction goes through the same states (`run_prediction`), save downloading: the books
and the journal name each prediction by its `Subject`, a job's own or a judge's for a job.

Over 300 lines (about 700) because these states share one lock and one set of books (`_sending`,
`_creating`, `in_flight`, `_abandoned`); the interrupt path (`abandon_creates`, `cancel_in_flight`)
and the ends of a job's and a judge's prediction (`_finish` and `_result`, `run_prediction` and
`_record`) are the parts that could move out.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..backends.base import Backend, OnCreated, Prediction
from ..clock import Clock, parse_iso, to_utc_iso, utc_now_iso
from ..errors import (
    BackendError,
    DownloadError,
    ModelFailed,
    RequestFailed,
    Throttled,
    Unreachable,
    Unreadable,
)
from ..jobs import FileInput, Job
from ..runfolder.journal import Pickup
from ..runfolder.judgements import JudgeRecord, reply_of
from ..runfolder.results import FinalStatus, JobResult
from ..runfolder.writer import RunFolder
from ..schema import ModelSchema
from .download import Downloader
from .outputs import file_names, split_output, tag_for
from .ratelimit import TokenBucket
from .retry import RetryPolicy
from .uploads import UploadCache

FIRST_POLL_S = 0.5
MAX_POLL_S = 10.0
INTERRUPTED = "interrupted"
# Server and runner clocks differ; look a little further back for a create whose answer was lost.
LOOKUP_MARGIN = timedelta(seconds=60)
# An output file URL answering these no longer has the file (the API deletes outputs after an hour).
GONE_STATUSES = frozenset({404, 410})
# On an interrupt, how long (clock seconds) looking up the creates whose answer is abandoned may
# take, and how many lookups run at once.
ABANDON_LOOKUP_S = 10.0
ABANDON_LOOKUPS = 8


class _Stopped(Exception):
    """The prediction was canceled by the runner (timeout or interrupt)."""

    def __init__(self, prediction: Prediction | None, reason: str) -> None:
        super().__init__(reason)
        self.prediction = prediction
        self.reason = reason


class _Fatal(Exception):
    """A failure that must not be retried (and must not create again)."""


class _OutputsGone(Exception):
    """A prediction fetched again for its files no longer has them: only a new one can give them."""


class _Abandoned(Exception):
    """The run stopped waiting for this create's answer (see `abandon_creates`): do nothing more."""


@dataclass(frozen=True)
class Subject:
    """Whose prediction it is: a job's own, or a judge's for a job; the books and the journal name it so."""

    key: str  # the books' key: the job id, or the judge prediction's cache key
    marks: Mapping[str, Any]  # the fields naming it in the journal: `job_id`, or `judge`, `key`, `for_job`
    owner: str  # the id of the job whose worker makes the prediction
    job: Job | None = None  # the job, for a job's own prediction

    @classmethod
    def of_job(cls, job: Job) -> Subject:
        """A job's own prediction."""
        return cls(job.job_id, {"job_id": job.job_id}, job.job_id, job)

    @classmethod
    def of_judge(cls, judge: str, key: str, job_id: str) -> Subject:
        """The prediction of the judge (scorer name) with this cache key, made for a job."""
        return cls(key, {"judge": judge, "key": key, "for_job": job_id}, job_id)


@dataclass(frozen=True)
class _Sending:
    """A create sent whose answer has not arrived: what an interrupt needs to look it up."""

    subject: Subject
    model: ModelRuntime
    model_input: Mapping[str, Any]
    sent_iso: str
    tracker: _Tracker


@dataclass
class ModelRuntime:
    """Everything one model's jobs share while the run goes on."""

    name: str
    backend: Backend
    schema: ModelSchema
    version: str | None
    uploads: UploadCache
    slots: threading.Semaphore | None = None  # the model's own `concurrency:` cap


@dataclass
class Execution:
    """Shared machinery for running jobs; `run_job` is called from worker threads."""

    folder: RunFolder
    policy: RetryPolicy
    creates: TokenBucket
    polls: TokenBucket
    downloader: Downloader
    clock: Clock
    timeout_s: float
    repeats: int
    stop: threading.Event = field(default_factory=threading.Event)
    cancel_on_stop: bool = True
    in_flight: dict[str, tuple[Backend, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _canceled: set[str] = field(default_factory=set)
    _creating: set[str] = field(default_factory=set)  # jobs whose create request is out, id not known yet
    _sending: dict[str, _Sending] = field(default_factory=dict)  # by subject key
    _abandoned: set[str] = field(default_factory=set)  # subject keys

    def run_job(
        self, job: Job, model: ModelRuntime, pickup: Pickup | None = None, tries: int = 0
    ) -> JobResult:
        """Run one job to its end and describe the outcome; never raises for a job's failure.

        `pickup` is a prediction an earlier, stopped run created for this job (continued, not
        created again); `tries` counts that run's creates for the job.
        """
        tracker = _Tracker(started_iso=utc_now_iso(), attempts=tries, started=self.clock.monotonic())
        try:
            if model.slots is None:
                return self._run_job(job, model, pickup, tracker)
            with model.slots:
                return self._run_job(job, model, pickup, tracker)
        except Exception as error:  # the last guard: a surprise fails this job, never the whole run
            return _unexpected(job, model, tracker, error)

    def _run_job(self, job: Job, model: ModelRuntime, pickup: Pickup | None, tracker: _Tracker) -> JobResult:
        started = self.clock.monotonic()
        tracker.started_iso, tracker.started = utc_now_iso(), started
        subject = Subject.of_job(job)
        try:
            if pickup is not None and model.backend.can_find_created:
                adopted = self._adopt(subject, model, pickup, started + self.timeout_s, tracker)
                tracker.picked_up = [adopted] if adopted is not None else []
                tracker.refetched = adopted.id if adopted is not None and pickup.refetch else ""
            deadline = started + self.timeout_s
            prediction = self._run_attempts(subject, model, job.input, job.files, deadline, tracker)
            if prediction.status == "canceled":
                reason = INTERRUPTED if self.stop.is_set() else prediction.error or "canceled"
                return self._result(job, model, tracker, started, "canceled", prediction, reason)
            return self._finish(job, model, tracker, started, prediction)
        except _Stopped as stopped:
            return self._result(job, model, tracker, started, "canceled", stopped.prediction, stopped.reason)
        except _Abandoned:  # the run has moved on and will not record this
            return self._result(job, model, tracker, started, "canceled", None, INTERRUPTED)
        except ModelFailed as failed:
            return self._result(job, model, tracker, started, "failed", tracker.last, str(failed))
        except (BackendError, _Fatal, DownloadError) as error:
            return self._result(job, model, tracker, started, "failed", tracker.last, str(error))
        except _OutputsGone:  # the server no longer has the files: this job is created anew
            fresh = _Tracker(started_iso=utc_now_iso(), attempts=tracker.attempts)
            return self._run_job(job, model, None, fresh)
        except Exception as error:  # e.g. an output file it cannot write: this job fails, the run goes on
            return self._result(job, model, tracker, started, "failed", tracker.last, _internal(error))

    def run_prediction(
        self,
        subject: Subject,
        model: ModelRuntime,
        values: Mapping[str, Any],
        files: Mapping[str, FileInput],
        pickup: Pickup | None = None,
        tries: int = 0,
    ) -> JudgeRecord:
        """Make a prediction that is no job's own (a judge's) to its end, and journal how it ended.

        Like `run_job` but nothing is downloaded; never raises for the prediction's failure.
        """
        tracker = _Tracker(started_iso=utc_now_iso(), attempts=tries, started=self.clock.monotonic())
        try:
            with model.slots if model.slots is not None else contextlib.nullcontext():
                record = self._run_prediction(subject, model, values, files, pickup, tracker)
        except _Abandoned:  # an interrupt looked its create up and journaled what it found
            return self._record(model, tracker, "canceled", None, INTERRUPTED)
        except Exception as error:  # the last guard: a surprise fails this prediction, never the run
            record = self._record(model, tracker, "failed", tracker.last, _internal(error))
        self.folder.journal("finished", **subject.marks, result=record.to_journal())
        return record

    def _run_prediction(
        self,
        subject: Subject,
        model: ModelRuntime,
        values: Mapping[str, Any],
        files: Mapping[str, FileInput],
        pickup: Pickup | None,
        tracker: _Tracker,
    ) -> JudgeRecord:
        tracker.started_iso, tracker.started = utc_now_iso(), self.clock.monotonic()
        deadline = tracker.started + self.timeout_s
        try:
            if pickup is not None and model.backend.can_find_created:
                adopted = self._adopt(subject, model, pickup, deadline, tracker)
                tracker.picked_up = [adopted] if adopted is not None else []
            prediction = self._run_attempts(subject, model, values, files, deadline, tracker)
            if prediction.status == "canceled":
                reason = INTERRUPTED if self.stop.is_set() else prediction.error or "canceled"
                return self._record(model, tracker, "canceled", prediction, reason)
            return self._record(model, tracker, "succeeded", prediction, "")
        except _Stopped as stopped:
            return self._record(model, tracker, "canceled", stopped.prediction, stopped.reason)
        except ModelFailed as failed:
            return self._record(model, tracker, "failed", tracker.last, str(failed))
        except (BackendError, _Fatal) as error:
            return self._record(model, tracker, "failed", tracker.last, str(error))

    def _record(
        self,
        model: ModelRuntime,
        tracker: _Tracker,
        status: FinalStatus,
        prediction: Prediction | None,
        error: str,
    ) -> JudgeRecord:
        output = prediction.output if prediction is not None and status == "succeeded" else None
        return JudgeRecord(
            status=status,
            reply=reply_of(output, model.schema.output == "iterator"),
            error=error,
            attempts=tracker.attempts,
            prediction_id=prediction.id if prediction else tracker.prediction_id,
            version=(prediction.version if prediction and prediction.version else model.version) or "",
            created_at=to_utc_iso(prediction.created_at if prediction else None) or tracker.started_iso,
            completed_at=to_utc_iso(prediction.completed_at if prediction else None) or utc_now_iso(),
            predict_time=prediction.predict_time if prediction else None,
            wall_time=self.clock.monotonic() - tracker.started,
        )

    def _run_attempts(
        self,
        subject: Subject,
        model: ModelRuntime,
        values: Mapping[str, Any],
        files: Mapping[str, FileInput],
        deadline: float,
        tracker: _Tracker,
    ) -> Prediction:
        model_input = dict(values)
        for name, found in files.items():
            if isinstance(found, Path):
                model_input[name] = model.uploads.value_for(found)
            else:  # a list of files: each local one replaced by its uploaded value, in place
                model_input[name] = [model.uploads.value_for(i) if isinstance(i, Path) else i for i in found]
        prediction: Prediction = self.policy.predictions(deadline)(
            self._attempt, subject, model, model_input, deadline, tracker
        )
        return prediction

    def _attempt(
        self,
        subject: Subject,
        model: ModelRuntime,
        model_input: Mapping[str, Any],
        deadline: float,
        tracker: _Tracker,
    ) -> Prediction:
        if tracker.picked_up:
            return self._finish_prediction(subject, model, tracker.picked_up.pop(), deadline, tracker)
        if self.stop.is_set():
            raise _Stopped(None, INTERRUPTED)
        if not self.creates.acquire(deadline, self.stop):
            if self.stop.is_set():
                raise _Stopped(None, INTERRUPTED)
            raise _Stopped(None, f"timed out after {self.timeout_s:g}s waiting for the rate limit")
        tracker.attempts += 1
        created_iso = utc_now_iso()
        # For hosted models the exact input is journaled, so a resume can find a create whose answer was lost.
        sent = {"input": dict(model_input)} if model.backend.can_find_created else {}
        self.folder.journal("creating", **subject.marks, attempt=tracker.attempts, **sent)
        with self._lock:
            if self.stop.is_set():
                raise _Stopped(None, INTERRUPTED)
            self._sending[subject.key] = _Sending(subject, model, dict(model_input), created_iso, tracker)

        def on_created(prediction_id: str) -> None:
            with self._lock:
                if subject.key in self._abandoned:  # an interrupt already looked this create up
                    raise _Abandoned
                self._sending.pop(subject.key, None)
                self.in_flight[subject.key] = (model.backend, prediction_id)
            tracker.prediction_id = prediction_id
            self.folder.journal("created", **subject.marks, prediction_id=prediction_id)
            if self.stop.is_set():  # interrupted while this create was waiting or in flight
                raise _Stopped(None, INTERRUPTED)

        try:
            try:
                time_left_s = deadline - self.clock.monotonic()
                with self._lock:
                    self._creating.add(subject.key)
                try:
                    prediction = model.backend.create(model_input, on_created, time_left_s)
                finally:
                    with self._lock:
                        self._creating.discard(subject.key)
            except Throttled as throttled:
                tracker.attempts -= 1  # a 429 is a wait, not a try
                self.folder.journal("throttled", **subject.marks)  # nor after a resume
                self.creates.pause(throttled.retry_after_s or 1.0)
                raise
            except Unreachable as lost:
                prediction = self._recover_lost_create(
                    model, model_input, created_iso, deadline, lost, on_created
                )
            except RequestFailed as failed:
                if not (failed.retryable and (failed.status or 0) >= 500):
                    raise
                # A gateway can answer 5xx after Replicate made the prediction: look before paying again.
                prediction = self._recover_lost_create(
                    model, model_input, created_iso, deadline, failed, on_created
                )
            except Unreadable as error:
                raise _Fatal(str(error)) from None
        except _Stopped:
            # The answer came after the interrupt (a sync create waits for the model): a prediction
            # that has already succeeded is kept and finished, one still running is canceled.
            prediction = self._settle(model.backend, tracker.prediction_id, None)
        finally:
            with self._lock:
                self._sending.pop(subject.key, None)
        return self._finish_prediction(subject, model, prediction, deadline, tracker)

    def _finish_prediction(
        self,
        subject: Subject,
        model: ModelRuntime,
        prediction: Prediction,
        deadline: float,
        tracker: _Tracker,
    ) -> Prediction:
        with self._lock:
            self.in_flight[subject.key] = (model.backend, prediction.id)
        tracker.prediction_id = prediction.id
        try:
            prediction = self._wait(model, prediction, deadline, tracker)
        finally:
            with self._lock:
                self.in_flight.pop(subject.key, None)
        if prediction.status == "failed":
            raise ModelFailed(prediction.error or "the prediction failed without an error message")
        return prediction

    def _adopt(
        self, subject: Subject, model: ModelRuntime, pickup: Pickup, deadline: float, tracker: _Tracker
    ) -> Prediction | None:
        """Find the prediction a stopped run created for this job; None if it never was created.

        For a pickup that succeeded but whose files were not downloaded, None also when the server no
        longer has its outputs (deleted, or the prediction is gone): it is created again.
        """
        if pickup.prediction_id is None:
            if pickup.sent_input is None:
                return None
            found = self._look_up_sent(model, pickup.sent_input, pickup.creating_time, deadline)
            if found is not None:
                self.folder.journal("created", **subject.marks, prediction_id=found.id)
            return found
        try:
            prediction: Prediction = self.policy.until(deadline)(model.backend.get, pickup.prediction_id)
        except RequestFailed as error:
            if error.status == 404:  # the server does not know it (any more): create it
                return None
            tracker.prediction_id = pickup.prediction_id  # kept, so a later --resume fetches it again
            raise _Fatal(f"could not fetch prediction {pickup.prediction_id}: {error}") from None
        except BackendError as error:
            tracker.prediction_id = pickup.prediction_id
            raise _Fatal(f"could not fetch prediction {pickup.prediction_id}: {error}") from None
        if pickup.refetch and prediction.status == "succeeded" and prediction.output is None:
            # It had files; the API deletes outputs after an hour (`data_removed`, `output: null`).
            return None
        return prediction

    def _look_up_sent(
        self, model: ModelRuntime, model_input: Mapping[str, Any], sent_iso: str, deadline: float
    ) -> Prediction | None:
        """Look up a create a stopped run sent; while it may still land, not finding it proves nothing."""
        found = self._look_up(model, model_input, sent_iso, deadline)
        left_s = model.backend.create_timeout_s - self.clock.seconds_since(sent_iso)
        if found is None and left_s > 0:
            # The run was killed while the request was on its way or held at the server: wait until
            # the client would have given up on it, then look once more.
            if self.clock.wait(self.stop, left_s):
                raise _Stopped(None, INTERRUPTED)
            found = self._look_up(model, model_input, sent_iso, deadline)
        return found

    def _look_up(
        self, model: ModelRuntime, model_input: Mapping[str, Any], sent_iso: str, deadline: float
    ) -> Prediction | None:
        """The prediction created with this input since a create was sent, if the server lists one."""
        since = (parse_iso(sent_iso) - LOOKUP_MARGIN).isoformat()
        try:
            found: Prediction | None = self.policy.tries(deadline)(
                model.backend.find_created, model_input, since
            )
        except BackendError as error:
            raise _Fatal(
                f"the prediction may exist but could not be looked up ({error}); "
                "not created again: a --resume looks again before creating"
            ) from None
        return found

    def _recover_lost_create(
        self,
        model: ModelRuntime,
        model_input: Mapping[str, Any],
        created_iso: str,
        deadline: float,
        lost: Unreachable | RequestFailed,
        on_created: OnCreated,
    ) -> Prediction:
        """The create's answer was lost or a server error: adopt the prediction if it exists, never
        create blindly."""
        if not model.backend.can_find_created:
            raise RequestFailed(str(lost), retryable=True)
        try:
            found = self._look_up(model, model_input, created_iso, deadline)
        except _Fatal as error:
            raise _Fatal(f"{lost}; {error}") from None
        if found is None:
            raise RequestFailed(f"{lost}; no prediction was created, trying again", retryable=True)
        on_created(found.id)
        return found

    def _wait(
        self, model: ModelRuntime, prediction: Prediction, deadline: float, tracker: _Tracker
    ) -> Prediction:
        """Poll until terminal, with intervals that grow for long predictions."""
        tracker.last = prediction
        first_seen = self.clock.monotonic()
        while not prediction.is_terminal:
            now = self.clock.monotonic()
            if now >= deadline:
                self._cancel(model.backend, prediction.id)
                raise _Stopped(prediction, f"timed out after {self.timeout_s:g}s; canceled")
            interval = max(FIRST_POLL_S, min(MAX_POLL_S, (now - first_seen) / 10))
            if self.clock.wait(self.stop, min(interval, deadline - now)):
                if not self.cancel_on_stop:
                    raise _Stopped(prediction, INTERRUPTED)
                prediction = self._settle(model.backend, prediction.id, prediction)
                tracker.last = prediction
                continue
            if not self.polls.acquire(deadline, self.stop):
                continue  # interrupted, or the budget has no slot before the deadline: the loop's top decides
            try:
                prediction = self.policy.until(deadline)(self._get, model.backend, prediction.id)
            except BackendError as error:
                # Never let a polling problem look like a failed create: that would create again.
                raise _Fatal(f"lost track of prediction {prediction.id}: {error}") from None
            tracker.last = prediction
        return prediction

    def _get(self, backend: Backend, prediction_id: str) -> Prediction:
        try:
            return backend.get(prediction_id)
        except Throttled as throttled:  # the budget is shared: every poll waits, not just this one
            self.polls.pause(throttled.retry_after_s or 1.0)
            raise

    def _cancel(self, backend: Backend, prediction_id: str) -> None:
        with self._lock:  # on Ctrl-C both the main thread and the worker may try; once is enough
            if prediction_id in self._canceled:
                return
            self._canceled.add(prediction_id)
        with contextlib.suppress(BackendError):  # best effort: Cancel-After stops it anyway
            backend.cancel(prediction_id)

    def count_in_flight(self) -> int:
        """Predictions being created or created and not finished: not jobs waiting for a slot."""
        with self._lock:
            return len(self._creating | self.in_flight.keys())

    def _settle(self, backend: Backend, prediction_id: str, last: Prediction | None) -> Prediction:
        """On interrupt: a prediction that has succeeded is returned (kept); one still running is
        canceled, and `_Stopped` raised with its latest state.

        Its state is read before canceling (never cancel what has succeeded) and after (it may have
        ended first). A backend that cannot be polled (Cog) is simply canceled.
        """
        current = self._peek(backend, prediction_id) or last
        if current is None or not current.is_terminal:
            self._cancel(backend, prediction_id)
            current = self._peek(backend, prediction_id) or current
        if current is not None and current.status == "succeeded":
            return current
        raise _Stopped(current, INTERRUPTED)

    def _peek(self, backend: Backend, prediction_id: str) -> Prediction | None:
        """One read of a prediction's state, None if it cannot be had."""
        try:
            return backend.get(prediction_id)
        except BackendError:
            return None

    def abandon_creates(self) -> tuple[set[str], list[JobResult]]:
        """On interrupt, stop waiting for the creates whose answer has not arrived.

        A create with `Prefer: wait` answers only when the model is done (up to a minute). Each such
        prediction is looked up by its input instead: one still running is canceled and its result
        (`canceled`, `interrupted`) returned for recording; one that has ended gets its id journaled,
        for `--resume` to adopt; one not listed yet is left to the resume's own lookup (the journal
        holds the intent). The worker threads still waiting write nothing more. Returns the ids of
        the jobs whose workers were abandoned and the results to record (a judge's prediction that is
        canceled is journaled here: its job's result is not waited for).
        """
        with self._lock:
            sending, self._sending = self._sending, {}
            self._abandoned.update(sending)
        if not sending:
            return set(), []
        deadline = self.clock.monotonic() + ABANDON_LOOKUP_S
        with ThreadPoolExecutor(max_workers=ABANDON_LOOKUPS, thread_name_prefix="lookup") as pool:
            finds = list(pool.map(lambda sent: self._find_abandoned(sent, deadline), sending.values()))
        results: list[JobResult] = []
        adopted: set[str] = set()
        for sent, found in zip(sending.values(), finds):
            if found is None or found.id in adopted:  # a repeat with the same input took that one
                continue
            adopted.add(found.id)
            sent.tracker.prediction_id = found.id
            self.folder.journal("created", **sent.subject.marks, prediction_id=found.id)
            if found.is_terminal:
                continue
            try:
                self._settle(sent.model.backend, found.id, found)
            except _Stopped as stopped:
                job, model, tracker = sent.subject.job, sent.model, sent.tracker
                prediction = stopped.prediction or found
                if job is None:
                    record = self._record(model, tracker, "canceled", prediction, INTERRUPTED)
                    self.folder.journal("finished", **sent.subject.marks, result=record.to_journal())
                    continue
                results.append(
                    self._result(job, model, tracker, tracker.started, "canceled", prediction, INTERRUPTED)
                )
        return {sent.subject.owner for sent in sending.values()}, results

    def _find_abandoned(self, sent: _Sending, deadline: float) -> Prediction | None:
        if not sent.model.backend.can_find_created or self.clock.monotonic() >= deadline:
            return None
        try:
            return self._look_up(sent.model, sent.model_input, sent.sent_iso, deadline)
        except _Fatal:
            return None  # the journal's intent record: --resume looks again before creating

    def cancel_in_flight(self) -> int:
        """Cancel every prediction still running (used on interrupt); returns how many."""
        with self._lock:
            pending = list(self.in_flight.values())
        for backend, prediction_id in pending:
            self._cancel(backend, prediction_id)
        return len(pending)

    def _finish(
        self,
        job: Job,
        model: ModelRuntime,
        tracker: _Tracker,
        started: float,
        prediction: Prediction,
    ) -> JobResult:
        split = split_output(prediction.output, model.schema.output)
        folder = self.folder.files_dir(job.model, job.row.id)
        names = file_names(split.file_urls, tag_for(dict(job.matrix), job.repeat, self.repeats))
        saved: list[str] = []
        for index, (url, name) in enumerate(zip(split.file_urls, names)):
            try:
                self.downloader.fetch(url, folder / name)
            except DownloadError as error:
                if prediction.id == tracker.refetched and error.status in GONE_STATUSES:
                    raise _OutputsGone(str(error)) from None
                # The prediction keeps its id in the row and is fetched again by --resume.
                self.folder.journal("download_failed", job_id=job.job_id, prediction_id=prediction.id)
                message = (
                    f"succeeded, but output file {index + 1} of {len(names)} could not be downloaded: {error}"
                )
                return self._result(
                    job,
                    model,
                    tracker,
                    started,
                    "failed",
                    prediction,
                    message,
                    saved,
                    split.text(saved),
                    split.is_json,
                )
            saved.append((folder / name).relative_to(self.folder.path).as_posix())
        return self._result(
            job, model, tracker, started, "succeeded", prediction, "", saved, split.text(saved), split.is_json
        )

    def _result(
        self,
        job: Job,
        model: ModelRuntime,
        tracker: _Tracker,
        started: float,
        status: FinalStatus,
        prediction: Prediction | None,
        error: str,
        files: list[str] | None = None,
        output: str = "",
        output_json: bool = False,
    ) -> JobResult:
        return JobResult(
            job_id=job.job_id,
            model=job.model,
            row_id=job.row.id,
            repeat=job.repeat,
            status=status,
            output=output,
            files=tuple(files or ()),
            error=error,
            attempts=tracker.attempts,
            prediction_id=prediction.id if prediction else tracker.prediction_id,
            version=(prediction.version if prediction and prediction.version else model.version) or "",
            created_at=to_utc_iso(prediction.created_at if prediction else None) or tracker.started_iso,
            completed_at=to_utc_iso(prediction.completed_at if prediction else None) or utc_now_iso(),
            predict_time=prediction.predict_time if prediction else None,
            wall_time=self.clock.monotonic() - started,
            input=job.input,
            metadata=job.row.metadata,
            metrics=dict(prediction.metrics) if prediction else {},
            output_json=output_json,
        )


def _internal(error: Exception) -> str:
    return f"internal error: {type(error).__name__}: {error}"


def _unexpected(job: Job, model: ModelRuntime, tracker: _Tracker, error: Exception) -> JobResult:
    """A failed result built from what the tracker holds, for an error even `_result` did not survive."""
    return JobResult(
        job_id=job.job_id,
        model=job.model,
        row_id=job.row.id,
        repeat=job.repeat,
        status="failed",
        error=_internal(error),
        attempts=tracker.attempts,
        prediction_id=tracker.prediction_id,
        version=model.version or "",
        created_at=tracker.started_iso,
        completed_at=utc_now_iso(),
        input=job.input,
        metadata=job.row.metadata,
    )


@dataclass
class _Tracker:
    """What one job's attempts have seen so far."""

    started_iso: str
    attempts: int = 0
    started: float = 0.0  # clock time the job began
    prediction_id: str = ""
    last: Prediction | None = None
    picked_up: list[Prediction] = field(default_factory=list)  # a picked-up prediction, used first
    refetched: str = ""  # id of a picked-up prediction fetched again for its files
