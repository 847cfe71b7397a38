"""Continuing a run in its own folder: refuse a changed spec, keep what succeeded, pick up the rest."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import ResumeRefused
from ..jobs import Job
from ..spec.loading import LoadedSpec
from .journal import JOURNAL_NAME, JournalState, read_journal
from .results import JobResult


def load_resume_state(run_dir: Path, loaded: LoadedSpec, *, force: bool) -> JournalState:
    """Read a run folder's journal; a spec that changed since the run began is refused unless forced."""
    if not (run_dir / JOURNAL_NAME).is_file():
        raise ResumeRefused.single(str(run_dir), "--resume", f"not a run folder: it has no {JOURNAL_NAME}")
    state = read_journal(run_dir)
    if state.spec_hash is not None and state.spec_hash != loaded.spec_hash() and not force:
        raise ResumeRefused.single(
            loaded.source,
            "--resume",
            f"the spec changed since {run_dir.name} began (see its spec.yaml): resuming would mix two "
            "specs in one folder. Run it as a new run, or add --force to resume with the new spec "
            "(jobs are matched by job_id)",
        )
    return state


def final_results(run_dir: Path, jobs: Iterable[Job]) -> list[JobResult]:
    """Exactly one result per job of the spec that has one, in job order, from the journal."""
    state = read_journal(run_dir)
    return [state.results[job.job_id] for job in jobs if job.job_id in state.results]
