"""Run model predictions in bulk on Replicate or local Cog servers, and keep every result."""

from .runfolder.results import JobResult, load_results
from .runner import Interrupted, RunSummary, run_batch
from .spec.model import BatchSpec, load_spec
from .spec.problems import Problem, SpecError

__all__ = [
    "BatchSpec",
    "Interrupted",
    "JobResult",
    "Problem",
    "RunSummary",
    "SpecError",
    "load_results",
    "load_spec",
    "run_batch",
]
