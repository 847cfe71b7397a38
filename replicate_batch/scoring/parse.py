"""`scorers:` from YAML data to checked scorers, with every mistake found reported at its place.

Each item is checked on its own (its keys, its one kind, its values) and against the rest of the
spec (a unique name, the spec's models, the rows' fields, the python file), all in one pass: a
mistake in one key does not hide a mistake in another.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from ..errors import Problem
from ..spec.problems import did_you_mean, problems_from_validation, show_value
from .config import ENTRY_TYPES, KINDS, PYTHON_REFERENCE, JudgeEntry, ScorerSpec
from .judge import judge_from
from .python import LoadError, ScorerFunction, load_function
from .scorer import AnyScorer, scorer_from
from .template import TemplateError, parse_template

_ALL_KEYS = tuple(dict.fromkeys(key for entry in ENTRY_TYPES.values() for key in entry.model_fields))
_ONLY_WITH = {
    "ignore_case": "`ignore_case` goes only with equals, contains and one_of",
    "tolerance": "`tolerance` goes only with close_to",
    "ask": "`ask` goes only with judge",
    "choices": "`choices` goes only with judge (to read its reply)",
    "scale": "`scale` goes only with judge (with `regex`, to read its reply)",
}
_SHAPES = {
    "models": "a list of model names, such as `[caption]`",
    "one_of": "a list of accepted answers, such as `[positive, negative]`",
    "json_schema": "a JSON Schema (a mapping; `{}` accepts any JSON)",
    "ask": "a mapping of the judge's input names to values, such as `{prompt: ...}`",
    "choices": "a mapping of reply words to numbers, such as `{A: 1, B: 0}`",
}
_TEMPLATE_KEYS = ("equals", "contains", "close_to")


class _Checker:
    """What one `parse_scorers` call knows about the spec, and what it has seen so far."""

    def __init__(self, source: str, spec_dir: Path, model_names: Collection[str], fields: set[str]) -> None:
        self.source = source
        self.spec_dir = spec_dir
        self.model_names = model_names
        self.fields = fields
        self.modules: dict[Path, ModuleType] = {}  # each python file is loaded once
        self.first_place: dict[str, str] = {}  # scorer name -> the place that first used it

    def problem(self, place: str, message: str) -> Problem:
        return Problem(self.source, place, message)


def parse_scorers(
    raw: Any,
    *,
    spec_dir: Path,
    model_names: Collection[str],
    row_fields: Iterable[str],
    source: str = "spec",
    place_prefix: str = "scorers",
) -> tuple[tuple[AnyScorer, ...], list[Problem]]:
    """Check a spec's `scorers:` list and load what it needs (each python file once).

    Returns the scorers, ready to use, or (when there is any problem) none and every problem found,
    each with its place (`scorers[3].regex`). `row_fields` names the fields the rows
    have (`id` is always one). Paths are relative to `spec_dir`.
    """
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        message = f"expected a list of scorers, each a mapping with one kind, got {show_value(raw)}"
        return (), [Problem(source, place_prefix, message)]
    checker = _Checker(source, spec_dir, model_names, {"id", *row_fields})
    scorers: list[AnyScorer] = []
    problems: list[Problem] = []
    for index, data in enumerate(raw):
        place = f"{place_prefix}[{index}]"
        if not isinstance(data, Mapping):
            message = f"expected a scorer: a mapping with one of {', '.join(KINDS)}, got {show_value(data)}"
            problems.append(checker.problem(place, message))
            continue
        found, kind = _check_keys(checker, data, place)
        entry: ScorerSpec | None = None
        function: ScorerFunction | None = None
        if kind is not None:
            entry, entry_problems = _validate(checker, kind, data, place)
            found += entry_problems
            found += _check_name(checker, data, kind, place)
            found += _check_models(checker, data.get("models"), place)
            found += _check_fields(checker, data, place)
            if kind == "python":
                function, load_problems = _load(checker, data.get("python"), place)
                found += load_problems
        problems += found
        if entry is None or found:
            continue
        if isinstance(entry, JudgeEntry):
            scorers.append(judge_from(entry, place))
        else:
            scorers.append(scorer_from(entry, place, function))
    return (tuple(scorers) if not problems else ()), problems


def _check_keys(checker: _Checker, data: Mapping[Any, Any], place: str) -> tuple[list[Problem], str | None]:
    """Problems with an item's keys and its kind; the kind when it names exactly one."""
    problems = [
        checker.problem(place, f"the key {show_value(key)} is not text: put it in quotes")
        for key in data
        if not isinstance(key, str)
    ]
    keys = [key for key in data if isinstance(key, str)]
    kinds = _kinds(keys)
    if not kinds:
        problems.append(checker.problem(place, f"no kind: give exactly one of {', '.join(KINDS)}"))
    elif len(kinds) > 1:
        named = ", ".join(f"`{kind}`" for kind in kinds)
        message = f"{len(kinds)} kinds ({named}): a scorer has exactly one kind; make it {len(kinds)} scorers"
        problems.append(checker.problem(place, message))
    kind = kinds[0] if len(kinds) == 1 else None
    allowed = ENTRY_TYPES[kind].model_fields if kind else _ALL_KEYS
    for key in keys:
        if key in allowed:
            continue
        if key in _ALL_KEYS and kind:
            message = _ONLY_WITH.get(key, f"`{key}` does not go with {kind}")
            if key == "ignore_case" and kind == "regex":
                message += "; in a regex, write `(?i)` at its start"
        else:
            hint = did_you_mean(key, _ALL_KEYS) or f": the keys of a scorer are {', '.join(_ALL_KEYS)}"
            message = f"unknown key `{key}`{hint}"
        problems.append(checker.problem(f"{place}.{key}", message))
    return problems, kind


def _kinds(keys: Iterable[str]) -> list[str]:
    """The kinds an item names; with `judge`, `regex` reads the reply and is not a kind."""
    present = [kind for kind in KINDS if kind in keys]
    if "judge" in present:
        return ["judge", *(kind for kind in present if kind not in ("judge", "regex"))]
    return present


def _validate(
    checker: _Checker, kind: str, data: Mapping[Any, Any], place: str
) -> tuple[ScorerSpec | None, list[Problem]]:
    """The typed entry of an item's known keys, or the problems with their values."""
    entry_type = ENTRY_TYPES[kind]
    known = {key: value for key, value in data.items() if key in entry_type.model_fields}
    try:
        return entry_type.model_validate(known), []
    except ValidationError as error:
        found = problems_from_validation(error, known, checker.source, shapes=_SHAPES, keys={})
        return None, [checker.problem(f"{place}.{p.place}" if p.place else place, p.message) for p in found]


def _check_name(checker: _Checker, data: Mapping[Any, Any], kind: str, place: str) -> list[Problem]:
    """A problem when the item's name (default: its kind) is already used."""
    name = data.get("name", kind)
    if not isinstance(name, str):
        return []
    first = checker.first_place.setdefault(name, place)
    if first == place:
        return []
    message = f"the scorer name {name!r} is already used by {first}: give one of them a `name:`"
    return [checker.problem(f"{place}.name" if "name" in data else place, message)]


def _check_models(checker: _Checker, models: Any, place: str) -> list[Problem]:
    """A problem for each `models:` entry that is not a model of the spec."""
    problems = []
    for index, model in enumerate(models if isinstance(models, list) else []):
        if isinstance(model, str) and model not in checker.model_names:
            names = checker.model_names
            hint = did_you_mean(model, names) or f": the models are {', '.join(names)}"
            problems.append(checker.problem(f"{place}.models[{index}]", f"no model is named {model!r}{hint}"))
    return problems


def _templates(data: Mapping[Any, Any]) -> Iterator[tuple[str, str]]:
    """(key, text) of every template in an item: `equals`, `contains`, `close_to`, a judge's `ask`."""
    for key in _TEMPLATE_KEYS:
        if isinstance(data.get(key), str):
            yield key, data[key]
    ask = data.get("ask") if "judge" in data else None
    if isinstance(ask, Mapping):
        yield from ((f"ask.{key}", value) for key, value in ask.items() if isinstance(value, str))


def _check_fields(checker: _Checker, data: Mapping[Any, Any], place: str) -> list[Problem]:
    """A problem for each template field that no row has, with the closest field as a hint."""
    problems = []
    for key, text in _templates(data):
        try:
            names = parse_template(text).row_fields()
        except TemplateError:
            continue  # reported with the item's values
        for name in names:
            if name not in checker.fields:
                message = f"`{{{name}}}`: no row has a field `{name}`{did_you_mean(name, checker.fields)}"
                problems.append(checker.problem(f"{place}.{key}", message))
    return problems


def _load(checker: _Checker, reference: Any, place: str) -> tuple[ScorerFunction | None, list[Problem]]:
    """The python scorer's function, loaded once per file, or the problem loading it."""
    if not isinstance(reference, str) or not PYTHON_REFERENCE.match(reference):
        return None, []  # reported with the item's values
    try:
        return load_function(reference, checker.spec_dir, checker.modules), []
    except LoadError as error:
        return None, [checker.problem(f"{place}.python", str(error))]
