"""Judging a finished job: each judge's prediction made through the executor, at most once per key.

A job is judged by the worker that finished it, right after its own prediction (no stage waits for
all the candidates), so a judge's prediction takes a slot of the same pool, the same create and poll
budgets, retries, timeout, journal and interrupt as every other. `Judging.score` renders the judge's
input, names it by `judge_cache_key`, and reuses the reply the journal (or an earlier job) holds for
that key; only a key without a reply makes a prediction, and a key being predicted for another job
is waited for, never predicted twice. A failed judge prediction leaves the job unscored with the
reason as its note; it is not reused by a later run or `rescore`, which try it again (within one
run, the jobs that ask the same input share its outcome).

While `predicting` is off (a resume scoring the results it keeps, before the pool runs), a judge
whose reply is not known makes no prediction: the job is `deferred` and judged later in the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import SpecError
from ..jobs import find_files
from ..judge_models import JudgeModel, JudgeSetup, PreparedJudges
from ..runfolder.journal import JudgeJournal
from ..runfolder.judgements import JudgeRecord
from ..runfolder.results import JobResult
from ..scoring.facts import JobFacts
from ..scoring.judge import Judge, judge_cache_key, read_reply, render_judge_input
from ..scoring.score import Score, unscored
from ..scoring.scorer import applies_to
from ..scoring.template import Template
from ..spec.loading import LoadedSpec
from .executor import Execution, ModelRuntime, Subject
from .retry import RetryPolicy
from .uploads import UploadCache


@dataclass
class JudgeStats:
    """One judge scorer's predictions in a run: how many ended, failed, were reused, and model time."""

    scorer: str
    predictions: int = 0  # judge predictions that ended in this run (created or picked up)
    failed: int = 0  # of those, the ones that did not succeed (failed or canceled)
    reused: int = 0  # jobs judged by a reply already known (the journal, or an earlier job)
    predict_s: float = 0.0  # model time of the predictions that ended


class JudgeTally:
    """What the judges did so far, for the progress line and the summary; safe across threads."""

    def __init__(self, scorers: Sequence[str]) -> None:
        self._stats = {name: JudgeStats(name) for name in scorers}
        self._expected = 0
        self._lock = threading.Lock()

    def expect(self, count: int) -> None:
        """Count `count` more judgings to come (some will need no prediction)."""
        with self._lock:
            self._expected += count

    def skip(self, count: int = 1) -> None:
        """`count` expected judgings need no prediction (nothing to send, a job that failed)."""
        with self._lock:
            self._expected -= count

    def ended(self, scorer: str, record: JudgeRecord) -> None:
        """A judge prediction ended."""
        with self._lock:
            stats = self._stats[scorer]
            stats.predictions += 1
            stats.failed += not record.succeeded
            stats.predict_s += record.predict_time or 0.0

    def reused(self, scorer: str) -> None:
        """A job was judged by a reply already known."""
        with self._lock:
            self._stats[scorer].reused += 1
            self._expected -= 1

    @property
    def progress(self) -> tuple[int, int]:
        """(judge predictions ended, judge predictions expected in all, as far as known now)."""
        with self._lock:
            done = sum(stats.predictions for stats in self._stats.values())
            return done, max(self._expected, done)

    def stats(self) -> list[JudgeStats]:
        """Per judge scorer, in spec order."""
        with self._lock:
            return [replace(stats) for stats in self._stats.values()]


@dataclass
class _Pending:
    """A judge prediction being made for one job that other jobs with the same key wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    record: JudgeRecord | None = None


NOT_JUDGED = "not judged yet"


class Judging:
    """Judges finished jobs through an `Execution`; one per run (or `rescore`)."""

    def __init__(
        self,
        execution: Execution | None,
        judges: PreparedJudges,
        loaded: LoadedSpec,
        journal: JudgeJournal,
        tally: JudgeTally | None = None,
    ) -> None:
        self.execution = execution  # set before the first prediction
        self.judges = judges
        self.loaded = loaded
        self.journal = journal  # replies to reuse and predictions a stopped run left, by key
        self.tally = tally or JudgeTally(list(judges.setups))
        self.predicting = True
        self.deferred = 0  # judgings put off while not predicting
        self._runtimes: dict[int, ModelRuntime] = {}
        self._pending: dict[str, _Pending] = {}
        self._failed: dict[str, JudgeRecord] = {}  # keys whose prediction did not succeed in this run
        self._lock = threading.Lock()

    def applying(self, model: str) -> int:
        """How many judges judge this model's jobs."""
        return sum(applies_to(setup.judge, model) for setup in self.judges.setups.values())

    def expect_jobs(self, counts: Mapping[str, int]) -> None:
        """Jobs to come, by model: each will be judged by the judges that apply to its model."""
        self.tally.expect(sum(count * self.applying(model) for model, count in counts.items()))

    def job_ended(self, result: JobResult) -> None:
        """A job ended: one that did not succeed is not judged."""
        if result.status != "succeeded":
            self.tally.skip(self.applying(result.model))

    def manifest_entries(self) -> list[dict[str, Any]]:
        """Each judge scorer's model and the version it resolved to (None until started), for the manifest."""
        return [
            {"scorer": name, "model_ref": setup.model.spec.spec_ref(), "version": setup.model.version}
            for name, setup in self.judges.setups.items()
        ]

    def step(self, judge: Judge, facts: JobFacts, result: JobResult) -> Score:
        """`JobScoring`'s judge step: the score of a succeeded job (`facts` of `result`) by `judge`."""
        return self.score(
            judge,
            job_id=result.job_id,
            output_text=facts.output_text,
            output_value=facts.output_value,
            row=facts.row,
        )

    def score(
        self, judge: Judge, *, job_id: str, output_text: str, output_value: Any, row: Mapping[str, Any]
    ) -> Score:
        """One succeeded job's score by this judge: its reply read, or unscored with the reason."""
        setup = self.judges.setups[judge.name]
        rendered = render_judge_input(judge, output_text=output_text, output_value=output_value, row=row)
        if isinstance(rendered, Score):  # a value the input needs is missing: nothing to ask
            self.tally.skip()
            return rendered
        # The key is of the input as rendered: it is known without the judge's schema, so `rescore`
        # starts no judge when every reply is known. The prediction gets it converted.
        asked = {**setup.defaults, **rendered}
        key = judge_cache_key(judge, asked)
        record = self._reply(setup, key, asked, job_id)
        if record is None:
            return unscored(NOT_JUDGED)
        if record.succeeded:
            return read_reply(judge, record.reply)
        verb = "was canceled" if record.status == "canceled" else "failed"
        return unscored(f"the judge's prediction {verb}: {record.error}")

    def _converted(self, setup: JudgeSetup, asked: Mapping[str, Any]) -> dict[str, Any]:
        """What is sent: rendered `ask:` text converted to the judge's input types, like CSV values."""
        fields = setup.model.schema.inputs or {}
        sent = dict(asked)
        for key in setup.judge.ask:
            spec_field = fields.get(key)
            if isinstance(setup.judge.ask[key], Template) and spec_field is not None:
                sent[key] = spec_field.convert(sent[key])
        return sent

    def _reply(
        self, setup: JudgeSetup, key: str, asked: Mapping[str, Any], job_id: str
    ) -> JudgeRecord | None:
        """The record for a key: a known reply, the outcome of another job's prediction, or a new one.

        None when the key has no reply and no prediction is made now (`predicting` off).
        """
        scorer = setup.judge.name
        with self._lock:
            known = self.journal.replies.get(key) or self._failed.get(key)
            pending = self._pending.get(key) if known is None else None
            mine = known is None and pending is None and self.predicting
            if mine:
                pending = self._pending[key] = _Pending()
            elif known is None and pending is None:
                self.deferred += 1
        if known is not None:
            if known.succeeded:
                self.tally.reused(scorer)
            else:
                self.tally.skip()
            return known
        if pending is None:
            self.tally.skip()
            return None
        if not mine:  # another job's worker is making this very prediction
            pending.done.wait()
            assert pending.record is not None
            if pending.record.succeeded:
                self.tally.reused(scorer)
            else:
                self.tally.skip()
            return pending.record
        try:
            record = self._predict(setup, key, asked, job_id)
            pending.record = record
        except BaseException:  # jobs waiting for this key are not left waiting
            pending.record = JudgeRecord("failed", error="the judge's prediction was not made")
            raise
        finally:
            with self._lock:
                if pending.record is not None and pending.record.succeeded:
                    self.journal.replies[key] = pending.record
                elif pending.record is not None:
                    self._failed[key] = pending.record
                del self._pending[key]
            pending.done.set()
        self.tally.ended(scorer, record)
        return record

    def _predict(self, setup: JudgeSetup, key: str, asked: Mapping[str, Any], job_id: str) -> JudgeRecord:
        """Make the judge's prediction (picking up one a stopped run left for this key)."""
        runtime = self._runtime(setup.model)
        sent = self._converted(setup, asked)
        with self._lock:
            pickup = self.journal.pickups.pop(key, None)
            tries = self.journal.tries.pop(key, 0)
        files = find_files(self.loaded, setup.resolved(), sent)
        subject = Subject.of_judge(setup.judge.name, key, job_id)
        assert self.execution is not None, "give the judging its execution before it predicts"
        return self.execution.run_prediction(subject, runtime, sent, files, pickup, tries)

    def _policy(self) -> RetryPolicy:
        """The run's retry policy (uploads of a judge's files retry like every other request)."""
        assert self.execution is not None
        return self.execution.policy

    def _runtime(self, model: JudgeModel) -> ModelRuntime:
        """The judge model's runtime, its backend started the first time a prediction needs it."""
        with self._lock:
            runtime = self._runtimes.get(id(model))
            if runtime is not None:
                return runtime
            problems = self.judges.start()  # at the first prediction `rescore` needs; a run's preflight did
            if problems:  # nothing can be asked of the judges
                raise SpecError(problems)
            assert model.backend is not None
            concurrency = model.spec.concurrency
            runtime = ModelRuntime(
                model.label,
                model.backend,
                model.schema,
                model.version,
                UploadCache(model.backend, self._policy()),
                threading.Semaphore(concurrency) if concurrency else None,
            )
            self._runtimes[id(model)] = runtime
            return runtime
