"""Check every job's input against its model's schema before anything is created."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import ModelPlan, build_input, find_files, is_pass_through, matrix_combinations
from .problems import Problem, did_you_mean
from .rows import Row
from .spec import LoadedSpec

MAX_PLACES_SHOWN = 5


@dataclass
class Preflight:
    """What the checks found: problems stop the run, notes are said once."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)


def check_models(loaded: LoadedSpec, models: Sequence[ModelPlan]) -> list[Problem]:
    """Each model's own `input:` keys and the matrix keys must be inputs some model takes."""
    problems = []
    for model in models:
        fields = model.schema.inputs
        if fields is None:
            continue
        for key in model.defaults:
            if key not in fields:
                problems.append(
                    Problem(
                        loaded.source,
                        f"models[{model.index}].input.{key}",
                        f"`{model.name}` has no input `{key}`{did_you_mean(key, fields)}; "
                        f"its inputs are: {', '.join(fields)}",
                    )
                )
    for key in loaded.spec.matrix:
        if not any(m.takes(key) for m in models):
            known = {name for m in models for name in (m.schema.inputs or {})}
            problems.append(
                Problem(
                    loaded.source,
                    f"matrix.{key}",
                    f"no model takes `{key}`{did_you_mean(key, known)}",
                )
            )
    return problems


def check_rows(loaded: LoadedSpec, models: Sequence[ModelPlan], rows: Sequence[Row]) -> Preflight:
    """Row fields versus model inputs, then every job's final input, grouped by problem."""
    result = Preflight(problems=check_models(loaded, models))
    source = (
        loaded.source
        if not isinstance(loaded.spec.inputs, str)
        else str(loaded.resolve_path(loaded.spec.inputs))
    )
    matrix = loaded.spec.matrix
    known = sorted({name for m in models for name in (m.schema.inputs or {})})

    unknown_places: dict[str, list[str]] = defaultdict(list)
    dropped: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for key in row.values:
            if key in matrix:
                result.problems.append(
                    Problem(source, f"{row.place}.{key}", f"`{key}` is also a matrix key: keep one")
                )
            takers = [m for m in models if m.takes(key)]
            if not takers:
                unknown_places[key].append(row.place)
            for model in models:
                if takers and not model.takes(key):
                    dropped[(model.name, key)] += 1
    for key, places in unknown_places.items():
        result.problems.append(
            Problem(
                source,
                _places(places),
                f"no model takes `{key}`{did_you_mean(key, known)}; known inputs: {', '.join(known)}",
            )
        )
    for (model_name, key), count in dropped.items():
        result.notes.append(f"`{model_name}` does not take `{key}`: not sent to it ({count} rows)")
    for model in models:
        if not model.schema.is_checked:
            result.notes.append(f"`{model.name}` has no input schema: its inputs are unchecked")

    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for model in models:
        combos = matrix_combinations(matrix, model.matrix_keys)
        for row in rows:
            for combo in combos:
                values = build_input(model, row, combo)
                files = find_files(loaded, model, values)
                result.files.update(files.values())
                for message in _check_input(model, values, files):
                    grouped[(model.name, message)].append(row.place)
    for (model_name, message), places in grouped.items():
        how_many = f"{len(places)} rows: " if len(places) > 1 else ""
        result.problems.append(
            Problem(source, f"{how_many}{_places(places)}", f"{message} for `{model_name}`")
        )
    return result


def _check_input(model: ModelPlan, values: dict[str, object], files: dict[str, Path]) -> list[str]:
    fields = model.schema.inputs
    if fields is None:
        return []
    messages = []
    for name, spec_field in fields.items():
        if name not in values:
            if spec_field.required and spec_field.default is None:
                messages.append(f"`{name}` is required")
            continue
        value = values[name]
        if spec_field.is_file:
            if name not in files and not is_pass_through(value):
                messages.append(f"`{name}` = {value!r} is neither a URL nor an existing file")
            continue
        problem = spec_field.check(value)
        if problem:
            messages.append(f"`{name}` {problem}")
    return messages


def _places(places: list[str]) -> str:
    unique = list(dict.fromkeys(places))
    shown = ", ".join(unique[:MAX_PLACES_SHOWN])
    return shown + (f" and {len(unique) - MAX_PLACES_SHOWN} more" if len(unique) > MAX_PLACES_SHOWN else "")
