"""Run model predictions in bulk on Replicate or local Cog servers, and keep every result.

Importing the package is cheap: pandas loads when `load_results` is first called, the Replicate
client and Cog when a run first needs them.
"""

import typing as _typing

from .errors import Interrupted, Problem, SpecError
from .runfolder.results import JobResult
from .runner import RunSummary, run_batch
from .spec.loading import LoadedSpec, load_spec
from .spec.model import BatchSpec

if _typing.TYPE_CHECKING:
    from .reports.dataframe import load_results
    from .rescore import rescore_run

__all__ = [
    "BatchSpec",
    "Interrupted",
    "JobResult",
    "LoadedSpec",
    "Problem",
    "RunSummary",
    "SpecError",
    "load_results",
    "load_spec",
    "rescore_run",
    "run_batch",
]


def __getattr__(name: str) -> _typing.Any:
    if name == "load_results":  # pandas is imported here, on first use, not with the package
        from .reports.dataframe import load_results

        return load_results
    if name == "rescore_run":  # the report writer and the rescore path load on first use
        from .rescore import rescore_run

        return rescore_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "load_results", "rescore_run"})
