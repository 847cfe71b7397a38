"""Judges in `rescore`: replies the journal holds are reused; the rest are predicted first, in a pool.

A judge's prediction is named by its key (scorer name, judge entry, input sent), so an unchanged
judge finds every reply in the journal: nothing is created and no judge backend is started. A
judge whose key changed (its prompt, its model, its `input:`), or one whose prediction failed
before, is asked again: once per distinct input, through an executor like a run's (the spec's
`concurrency`, `rate_limit`, retries, timeout; each prediction journaled in the run's journal), all
before `results.csv` is rewritten, so the rewrite itself only reads replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from .backends.factory import BackendFactory
from .clock import Clock
from .errors import SpecError
from .execution.judging import JudgeStats, JudgeTally, Judging
from .judge_models import plan_judges
from .runfolder.journal import read_judge_journal
from .runfolder.manifest import Manifest
from .runfolder.results import JobResult
from .runfolder.writer import RunFolder
from .runner import wire_execution
from .scoring.judge import Judge
from .scoring.run_scoring import RunScoring
from .spec.loading import LoadedSpec


class RescoreJudges:
    """The judges of one `rescore`: their replies, and the predictions still needed, made ahead."""

    def __init__(
        self,
        folder: RunFolder,
        loaded: LoadedSpec,
        judges: Sequence[Judge],
        *,
        clock: Clock,
        backends: BackendFactory,
    ) -> None:
        """`loaded` is the run's spec with the scorers' folder as its base (where `cog:` paths point from)."""
        prepared, problems = plan_judges(
            loaded, judges, concurrency=loaded.spec.concurrency, clock=clock, backends=backends
        )
        if problems:
            raise SpecError(problems)
        folder.open_journal()  # judge predictions are journaled in the run's journal
        self.execution = wire_execution(folder, loaded.spec, clock)
        self.judging = Judging(self.execution, prepared, loaded, read_judge_journal(folder.path))
        self.concurrency = loaded.spec.concurrency
        self.stats: list[JudgeStats] = []

    def judge_ahead(
        self, scoring: RunScoring, results: Iterable[tuple[JobResult, Mapping[str, Any]]]
    ) -> None:
        """Judge every succeeded result (with its row's fields), predicting what no reply answers yet.

        After this no judge predicts any more: the rewrite reads the replies (and this rescore's
        failures). A Ctrl-C cancels the judge predictions in flight and is raised again.
        """
        pending: set[Future[None]] = set()
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="judge") as pool:
                for result, row in results:
                    if result.status != "succeeded":
                        continue
                    self.judging.expect_jobs({result.model: 1})
                    while len(pending) >= 2 * self.concurrency:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    pending.add(pool.submit(scoring.judge, result, row))
                for future in pending:
                    future.result()
        except KeyboardInterrupt:
            self.execution.stop.set()
            self.execution.cancel_in_flight()
            raise
        self.judging.predicting = False
        # What the judges did is this pass's; the rewrite only reads replies, counted apart.
        self.stats = self.judging.tally.stats()
        self.judging.tally = JudgeTally(list(self.judging.judges.setups))

    def write_into(self, manifest: Manifest) -> None:
        """The judges' models in the manifest; a version not resolved now is kept from the run's entry."""
        before = {(entry.get("scorer"), entry.get("model_ref")): entry for entry in manifest.judges or []}
        entries = self.judging.manifest_entries()
        for entry in entries:
            if entry["version"] is None:
                entry["version"] = before.get((entry["scorer"], entry["model_ref"]), {}).get("version")
        manifest.judges = entries

    def close(self) -> None:
        """Release the downloads' connections and stop any judge backend that was started."""
        self.execution.downloader.close()
        self.judging.judges.stop()


def scorers_spec(loaded: LoadedSpec, spec_dir: Path, source: str) -> LoadedSpec:
    """The run's spec, its relative paths pointing from where the scorers were written."""
    return replace(loaded, base_dir=spec_dir, path=Path(source) if source != loaded.source else loaded.path)
