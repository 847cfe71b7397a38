"""Everything before the first create: rows read, backends started, models resolved, rows checked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .backends.base import Backend, ModelInfo
from .backends.factory import TOKEN_VARIABLE, BackendFactory, make_backends
from .clock import SYSTEM_CLOCK, Clock
from .errors import BackendSetupError, Problem, SpecError, TokenRejected
from .jobs import Job, ResolvedModel, count_jobs, expand_jobs
from .judge_models import PreparedJudges, plan_judges
from .plan import describe_plan
from .preflight import check_rows
from .rows.rowset import RowSet, load_rows
from .runfolder.results import ResultColumns
from .schema import parse_schema
from .scoring.checks import check_scoring
from .scoring.judge import Judge
from .scoring.scorer import AnyScorer, applies_to
from .sharding import Shard
from .spec.loading import LoadedSpec


@dataclass
class PreparedRun:
    """A run checked and ready: its spec, rows, resolved models with their started backends, notes."""

    loaded: LoadedSpec
    rows: RowSet
    models: list[ResolvedModel]
    backends: list[Backend]
    versions: list[str | None]
    notes: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # where each model's predictions are created
    files: int = 0
    shard: Shard | None = None
    scorers: tuple[AnyScorer, ...] = ()  # checked, python files loaded: scoring/ runs them
    judges: PreparedJudges | None = None  # the judge scorers' models, started (when there are judges)

    @property
    def model_names(self) -> list[str]:
        """The models' names, in spec order."""
        return [model.name for model in self.models]

    def jobs(self) -> Iterator[Job]:
        """This run's jobs (this shard's, with `--shard`), expanded lazily in a stable order."""
        jobs = expand_jobs(self.loaded, self.models, self.rows)
        shard = self.shard
        return jobs if shard is None else (job for job in jobs if shard.takes(job.job_id))

    def stop(self) -> None:
        """Stop every backend: the models' and the judges'."""
        stop_backends(self.backends)
        if self.judges is not None:
            self.judges.stop()

    def job_counts(self) -> dict[str, int]:
        """Jobs per model, counted without keeping them."""
        if self.shard is None:
            return count_jobs(self.loaded, self.models, self.rows)
        counts = dict.fromkeys((model.name for model in self.models), 0)
        for job in self.jobs():
            counts[job.model] += 1
        return counts


def prepare(
    loaded: LoadedSpec,
    *,
    concurrency: int,
    clock: Clock = SYSTEM_CLOCK,
    backends: BackendFactory = make_backends,
) -> PreparedRun:
    """Everything before the first create: rows, scorers, backends, versions, schemas, preflight."""
    rows = load_rows(loaded)
    scorers, scoring_problems = check_scoring(
        loaded.spec.scorers,
        loaded.spec.group_by,
        spec_dir=loaded.base_dir,
        model_names=loaded.model_names,
        value_names=rows.value_names,
        metadata_names=rows.metadata_names,
        source=loaded.source,
    )
    built = backends(loaded, concurrency=concurrency, clock=clock)
    if len(built) != len(loaded.spec.models):
        stop_backends(built)
        raise ValueError(
            f"the backend factory built {len(built)} backends for {len(loaded.spec.models)} models"
        )
    prepared = PreparedRun(loaded, rows, [], built, [], scorers=scorers)
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
            prepared.models.append(
                ResolvedModel(index, name, model.spec_ref(), schema, dict(model.input), keys)
            )
            prepared.versions.append(info.version)
            prepared.endpoints.append(info.endpoint)
        judges = [scorer for scorer in scorers if isinstance(scorer, Judge)]
        if judges:  # checked and started like the models, with the same factory
            prepared.judges, found = plan_judges(
                loaded, judges, concurrency=concurrency, clock=clock, backends=backends
            )
            for problem in found or prepared.judges.start():
                if problem not in problems:  # a rejected token is said once
                    problems.append(problem)
        checked = check_rows(loaded, prepared.models, rows)
        if problems or checked.problems or scoring_problems:
            raise SpecError([*problems, *checked.problems, *scoring_problems])
        prepared.notes, prepared.files = checked.notes, len(checked.files)
    except BaseException:
        prepared.stop()
        raise
    return prepared


def stop_backends(backends: Sequence[Backend]) -> None:
    """Stop every backend, even if one fails to stop."""
    for backend in backends:
        with contextlib.suppress(Exception):
            backend.stop()


def result_columns(prepared: PreparedRun) -> ResultColumns:
    """results.csv's columns: the scorers', then the inputs some model takes (then defaults and
    matrix keys), then the rows' metadata."""
    rows, models = prepared.rows, prepared.models
    inputs = dict.fromkeys(k for k in rows.value_names if any(m.takes(k) for m in models))
    for model in models:
        inputs.update(dict.fromkeys(model.defaults))
    inputs.update(dict.fromkeys(prepared.loaded.spec.matrix))
    scores = tuple(scorer.name for scorer in prepared.scorers)
    return ResultColumns(scores=scores, inputs=tuple(inputs), metadata=tuple(rows.metadata_names))


def plan_text(prepared: PreparedRun, concurrency: int, limit: int | None) -> str:
    """The dry-run plan: predictions per model, total, files to upload, expected duration."""
    spec = prepared.loaded.spec
    return describe_plan(
        prepared.job_counts(),
        limit=limit,
        files=prepared.files,
        concurrency=concurrency,
        rate_limit_per_min=spec.rate_limit,
        caps={plan.name: spec.models[plan.index].concurrency for plan in prepared.models},
        endpoints=dict(zip(prepared.model_names, prepared.endpoints)),
        judges=judge_plan(prepared),
    )


def judge_plan(prepared: PreparedRun) -> list[tuple[str, str, int]]:
    """(scorer name, judge model, jobs it judges) of each judge scorer, for the dry-run plan."""
    if prepared.judges is None:
        return []
    counts = prepared.job_counts()
    return [
        (
            name,
            setup.model.spec.spec_ref(),
            sum(count for model, count in counts.items() if applies_to(setup.judge, model)),
        )
        for name, setup in prepared.judges.setups.items()
    ]
