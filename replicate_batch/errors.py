"""Every error the package raises, in one tree; the CLI catches the base once.

    ReplicateBatchError
    ├── ProblemsFound                 a list of problems, each with its place; nothing was created
    │   ├── SpecError                 the spec, its rows, the environment or a model is invalid
    │   │   └── RowsChanged           a rows file changed after it was checked
    │   ├── ResumeRefused             `--resume` refused: not a run folder, the spec changed (*)
    │   └── MergeRefused              `merge` refused: runs of different specs, a used target (*)
    ├── RunFolderError
    │   ├── RunFolderBusy             another process is writing the folder
    │   ├── NotARunFolder             the path has no readable results.csv
    │   ├── NoRunsFound               `history`: no run folder (of that spec) below the folder
    │   ├── ResumeRefused
    │   └── MergeRefused
    ├── BackendError                  a server's answer (or its silence); messages are meant for people
    │   ├── Throttled                 429: nothing was created, wait and retry
    │   ├── RequestFailed             an error answer: nothing was created
    │   ├── Unreachable               no usable answer: a create may or may not exist
    │   ├── Unreadable                an answer the client cannot interpret
    │   └── BackendSetupError         the model cannot be used at all
    │       └── TokenRejected         the API token was refused (401)
    ├── ModelFailed                   a prediction ended `failed`
    ├── DownloadError                 an output file could not be fetched
    ├── CogSchemaError                a Cog model folder's schema could not be generated
    └── Interrupted                   the run was interrupted; its state was saved (carries the summary)
        └── RunStopped                a rows file changed under a running run: it stopped there

(*) also a RunFolderError: a caller may catch either.

Workers never raise these for a job's failure: a failed job is a result with `status` and `error`.
Private control-flow exceptions (`_Stopped`, `_Fatal`, ... in the executor) never leave their module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .runner import RunSummary

_E = TypeVar("_E", bound="ProblemsFound")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, its rows or its models, and where."""

    source: str  # the file the problem is in (the spec) or "environment"
    place: str  # `models[1].ref`, `inputs[3].image`, `rows.csv line 7`; may be empty
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.place}" if self.place else self.source
        return f"{where}: {self.message}"


class ReplicateBatchError(Exception):
    """The base of every error the package raises."""


class ProblemsFound(ReplicateBatchError):
    """One or more problems, each with its place, found before anything was created."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls: type[_E], source: str, place: str, message: str) -> _E:
        """The error holding one problem."""
        return cls([Problem(source, place, message)])


class SpecError(ProblemsFound):
    """The spec, its rows, the environment or a model is invalid; nothing was created."""


class RowsChanged(SpecError):
    """A rows file changed (or went away) after it was checked: its rows are not the checked ones."""


class RunFolderError(ReplicateBatchError):
    """A run folder cannot be used as asked."""


class RunFolderBusy(RunFolderError):
    """Another process is writing this run folder."""


class NotARunFolder(RunFolderError):
    """The path is not a run folder (it has no readable `results.csv`)."""


class NoRunsFound(RunFolderError):
    """`history` found no run folder (or none of the spec asked for) below the folder given."""


class ResumeRefused(ProblemsFound, RunFolderError):
    """`--resume` was refused (not a run folder, or the spec changed since it began); nothing was run."""


class MergeRefused(ProblemsFound, RunFolderError):
    """`merge` was refused (runs of different specs, a target that is not empty); nothing was written."""


class BackendError(ReplicateBatchError):
    """Base of every error a backend raises; the message is meant for people."""


class Throttled(BackendError):
    """The server refused a request with 429; nothing was created. Wait `retry_after_s` and retry."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestFailed(BackendError):
    """The server answered with an error, so nothing was created; `retryable` for 5xx-like errors."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Unreachable(BackendError):
    """A request got no usable answer (connection refused, dropped, timed out).

    For a create this means the prediction may or may not exist: never create again blindly.
    """


class Unreadable(BackendError):
    """The server answered something the client cannot interpret (e.g. status `aborted`)."""


class BackendSetupError(BackendError):
    """The model cannot be used at all (unknown model, bad token, server failed to start)."""


class TokenRejected(BackendSetupError):
    """The server refused the API token (401): a problem of the environment, not of one model."""


class ModelFailed(ReplicateBatchError):
    """A prediction ended `failed`; retried only with `retry.on_model_error`."""


class DownloadError(ReplicateBatchError):
    """An output file could not be fetched; `status` is the HTTP status it was answered with, if any."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class CogSchemaError(ReplicateBatchError):
    """The schema of a Cog model folder could not be generated; the message says why."""


class Interrupted(ReplicateBatchError):
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
