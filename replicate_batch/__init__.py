"""Run model predictions in bulk on Replicate or local Cog servers, and keep every result."""

from .problems import Problem, SpecError
from .results import JobResult, load_results
from .runner import Interrupted, RunSummary, run_batch
from .spec import BatchSpec, load_spec

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
