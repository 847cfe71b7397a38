"""The judges' models: each `judge:` entry checked, built, started and resolved like a spec's model.

A judge entry is a model entry of any form (`ref`, `cog`, `url`, `deployment`, with `input:`
defaults). Its backend comes from the same factory as the spec's models; judge scorers naming the
same model (the entry without its `input:` and `name:`) share one backend. The entries are checked
at once (`plan_judges`); the backends are built and started by `PreparedJudges.start`, which a run
calls in its preflight and `rescore` only when a judge prediction is needed (usually never: the
replies are reused).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .backends.base import Backend, ModelInfo
from .backends.factory import TOKEN_VARIABLE, BackendFactory
from .clock import Clock
from .errors import BackendSetupError, Problem, SpecError, TokenRejected
from .jobs import ResolvedModel
from .schema import ModelSchema, parse_schema
from .scoring.judge import Judge
from .scoring.template import Template
from .spec.loading import LoadedSpec
from .spec.model import ModelSpec
from .spec.problems import did_you_mean, problems_from_validation, show_value

_SHAPES = {
    "": "a model entry: a ref string or a mapping with one of ref/cog/url/deployment",
    "input": "a mapping of the judge's input names to values",
    "url": 'an http(s) URL such as "http://host:5000", or a list of them',
    "url[]": 'an http(s) URL such as "http://host:5000"',
}
_KEYS = {"": list(ModelSpec.model_fields)}
_MODELS_PLACE = re.compile(r"models\[(\d+)\]")


@dataclass
class JudgeModel:
    """One model judges run on: built from the first judge entry naming it, shared by the others."""

    label: str  # its name in messages, the manifest and Cog's logs
    spec: ModelSpec
    place: str  # where it is first named: `scorers[3].judge`
    backend: Backend | None = None  # once built
    info: ModelInfo | None = None  # once started
    schema: ModelSchema = field(default_factory=lambda: parse_schema(None))

    @property
    def version(self) -> str | None:
        """The version it resolved to when started (hosted models), else None."""
        return self.info.version if self.info is not None else None


@dataclass(frozen=True)
class JudgeSetup:
    """A judge scorer with the model it runs on and its entry's `input:` defaults."""

    judge: Judge
    model: JudgeModel
    defaults: Mapping[str, Any]

    def resolved(self) -> ResolvedModel:
        """The judge as a resolved model: what finding local files among its inputs needs."""
        return ResolvedModel(-1, self.model.label, self.model.spec.spec_ref(), self.model.schema, {}, ())


@dataclass
class PreparedJudges:
    """Every judge scorer of a spec with its model; the models' backends built and started on `start`."""

    loaded: LoadedSpec
    setups: dict[str, JudgeSetup]  # by scorer name, in spec order
    models: list[JudgeModel]
    backends: BackendFactory
    concurrency: int
    clock: Clock
    started: bool = False
    problems: list[Problem] = field(default_factory=list)  # what starting found

    @property
    def source(self) -> str:
        """The spec file, as messages name it."""
        return self.loaded.source

    def start(self) -> list[Problem]:
        """Build and start every judge model (once), resolve its version and schema, check each judge.

        Returns the problems (none: every judge can be asked), the same ones on every call.
        """
        if self.started:
            return self.problems
        self.started = True
        try:
            built = _build(self.loaded, self.models, self.concurrency, self.clock, self.backends)
        except SpecError as error:
            self.problems = list(error.problems)
            return self.problems
        problems = self.problems
        for model, backend in zip(self.models, built):
            model.backend = backend
            try:
                model.info = backend.start()
            except BackendSetupError as error:
                problem = (
                    Problem("environment", TOKEN_VARIABLE, str(error))
                    if isinstance(error, TokenRejected)
                    else Problem(self.source, model.place, f"judge `{model.label}`: {error}")
                )
                if problem not in problems:
                    problems.append(problem)
                continue
            model.schema = parse_schema(model.info.openapi_schema)
        for setup in self.setups.values():
            problems += check_judge(setup, self.source)
        return problems

    def stop(self) -> None:
        """Stop every judge model's backend that was built, even if one fails to stop."""
        for model in self.models:
            if model.backend is not None:
                with contextlib.suppress(Exception):
                    model.backend.stop()


def plan_judges(
    loaded: LoadedSpec,
    judges: Sequence[Judge],
    *,
    concurrency: int,
    clock: Clock,
    backends: BackendFactory,
) -> tuple[PreparedJudges, list[Problem]]:
    """Each judge entry checked as a model entry, and the models judges share; nothing built yet.

    Returns the judges and the problems with their entries (`scorers[3].judge.ref`).
    """
    problems: list[Problem] = []
    setups: dict[str, JudgeSetup] = {}
    models: dict[str, JudgeModel] = {}
    for judge in judges:
        spec, found = _model_spec(judge, loaded.source)
        problems += found
        if spec is None:
            continue
        identity = json.dumps(spec.model_dump(mode="json", exclude={"input", "name"}), sort_keys=True)
        if identity not in models:
            label = spec.name or _label(spec.default_name(), {m.label for m in models.values()})
            models[identity] = JudgeModel(label, spec, f"{judge.place}.judge")
        setups[judge.name] = JudgeSetup(judge, models[identity], dict(spec.input))
    prepared = PreparedJudges(loaded, setups, list(models.values()), backends, concurrency, clock)
    return prepared, problems


def _model_spec(judge: Judge, source: str) -> tuple[ModelSpec | None, list[Problem]]:
    """The judge entry as a model entry, or its problems at `scorers[i].judge...`."""
    raw = judge.entry.judge
    try:
        return ModelSpec.model_validate(raw), []
    except ValidationError as error:
        found = problems_from_validation(error, raw, source, shapes=_SHAPES, keys=_KEYS)
        place = f"{judge.place}.judge"
        return None, [Problem(source, f"{place}.{p.place}" if p.place else place, p.message) for p in found]


def _label(name: str, taken: set[str]) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "judge"
    label, suffix = cleaned, 2
    while label in taken:
        label, suffix = f"{cleaned}-{suffix}", suffix + 1
    return label


def _build(
    loaded: LoadedSpec,
    models: Sequence[JudgeModel],
    concurrency: int,
    clock: Clock,
    backends: BackendFactory,
) -> list[Backend]:
    """The judge models' backends, from the factory the spec's models use (the judges as its models)."""
    if not models:
        return []
    spec = loaded.spec.model_copy(update={"models": [model.spec for model in models]})
    names = tuple(model.label for model in models)
    judges_loaded = LoadedSpec(spec, loaded.path, loaded.base_dir, loaded.name, names)
    try:
        built = backends(judges_loaded, concurrency=concurrency, clock=clock)
    except SpecError as error:  # its places name the judges' list: say where each judge is
        places = [model.place for model in models]
        raise SpecError(
            Problem(p.source, _judge_places(p.place, places), _judge_places(p.message, places))
            for p in error.problems
        ) from None
    if len(built) != len(models):
        for backend in built:
            with contextlib.suppress(Exception):
                backend.stop()
        raise ValueError(f"the backend factory built {len(built)} backends for {len(models)} judge models")
    return built


def _judge_places(text: str, places: Sequence[str]) -> str:
    return _MODELS_PLACE.sub(lambda match: places[int(match[1])], text)


def check_judge(setup: JudgeSetup, source: str) -> list[Problem]:
    """A judge's `ask:` and `input:` against its model's input schema: names, given values, required."""
    fields = setup.model.schema.inputs
    if fields is None:
        return []
    problems = []
    judge, place = setup.judge, setup.judge.place
    given = {
        **{key: (value, f"{place}.judge.input.{key}") for key, value in setup.defaults.items()},
        **{key: (value, f"{place}.ask.{key}") for key, value in judge.ask.items()},
    }
    label = setup.model.label
    for key, (value, where) in given.items():
        spec_field = fields.get(key)
        if spec_field is None:
            message = (
                f"the judge `{label}` has no input `{key}`{did_you_mean(key, fields)}; "
                f"its inputs are: {', '.join(fields)}"
            )
            problems.append(Problem(source, where, message))
        elif not isinstance(value, Template):  # a template's value is known only once rendered
            mismatch = spec_field.check(value)
            if mismatch is not None:
                message = (
                    f"`{key}` = {show_value(value)} {mismatch.what} for the judge `{label}`{mismatch.hint}"
                )
                problems.append(Problem(source, where, message))
    for name, spec_field in fields.items():
        if spec_field.required and name not in given:
            message = f"the judge `{label}` requires the input `{name}`: give it in `ask:` or in its `input:`"
            problems.append(Problem(source, f"{place}.ask", message))
    return problems
