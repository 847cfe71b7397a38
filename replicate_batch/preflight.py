"""Check every job's input against its model's schema before anything is created.

Every value is checked where it was written, so a mistake is reported once at its place:

- a model's own `input:` at `models[1].input.steps`, a matrix value at `matrix.seed`;
- a row by its index (`inputs[3]`, `rows.json[3]`) or its line (`rows.csv line 7`, `rows.jsonl line 7`).
  A problem with one field of one indexed row adds the field (`inputs[3].image`); a line place does
  not, and the message always names the field in backticks;
- a column of a CSV file that no model takes at `rows.csv header`.

Rows with the same problem on the same field of the same model are one problem, counted, with
their places merged and the values in brackets; a single row shows its value after the field:

    3 rows: rows.csv lines 4, 9-10: `steps` is above the maximum 50 for `flux` (80, 90, 120)
    rows.csv line 7: `steps` = 80 is above the maximum 50 for `flux`

Just over 300 lines: the checks and the grouping of what they find share the places; the grouping
(`_Findings`, `_shown`, `_places`) could move to a module of its own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem
from .jobs import ResolvedModel, build_input, find_files, local_file, local_paths
from .rows.rowset import Row, RowSet
from .schema import InputField, Mismatch
from .spec.loading import LoadedSpec
from .spec.problems import did_you_mean, show_value
from .values import is_link

MAX_PLACES_SHOWN = 6
MAX_VALUES_SHOWN = 5
_NO_VALUE = object()
_LINE = re.compile(r"^(?P<file>.+) line (?P<line>\d+)$")


@dataclass
class Preflight:
    """What the checks found: problems stop the run, notes are said once."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)  # local files the jobs send


def check_models(loaded: LoadedSpec, models: Sequence[ResolvedModel]) -> list[Problem]:
    """Each model's own `input:` keys must be its inputs; each matrix key must be some model's input."""
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
            known = _known_inputs(models)
            problems.append(
                Problem(
                    loaded.source,
                    f"matrix.{key}",
                    f"no model takes `{key}`{did_you_mean(key, known)}; the models take: {', '.join(known)}",
                )
            )
    return problems


def check_rows(loaded: LoadedSpec, models: Sequence[ResolvedModel], rows: RowSet) -> Preflight:
    """Row fields versus model inputs, then every value each model gets, grouped by problem.

    The rows are passed over once: a rows file is read again for every pass.
    """
    result = Preflight(problems=check_models(loaded, models))
    fields = _FieldCheck(loaded, models)
    readable: dict[Path, Mismatch | None] = {}
    checks = [_ModelCheck(loaded, model, readable) for model in models]
    for row in rows:
        fields.check(row)
        for check in checks:
            check.check(row)
    result.notes.extend(fields.notes())
    for check in checks:
        result.files.update(check.files)
        if not check.model.schema.is_checked:
            result.notes.append(f"`{check.model.name}` has no input schema: its inputs are unchecked")
    for findings in [fields.findings, *(check.findings for check in checks)]:
        result.problems.extend(findings.problems(loaded.source))
    return result


def _known_inputs(models: Sequence[ResolvedModel]) -> list[str]:
    return list(dict.fromkeys(name for m in models for name in (m.schema.inputs or {})))


class _FieldCheck:
    """Fields no model takes are errors; fields some models skip are said once per model and field."""

    def __init__(self, loaded: LoadedSpec, models: Sequence[ResolvedModel]) -> None:
        self.matrix = loaded.spec.matrix
        self.models = models
        self.known = _known_inputs(models)
        self.findings = _Findings()
        self.dropped: dict[tuple[str, str], int] = defaultdict(int)

    def check(self, row: Row) -> None:
        """One row's fields."""
        place = _header(row) if row.from_csv else row.place
        for key in row.values:
            if key in self.matrix:
                conflict = Mismatch("is both a row field and a matrix key", ": keep one")
                self.findings.add("", key, conflict, place, in_row=True)
            takers = [m for m in self.models if m.takes(key)]
            if not takers:
                hint = (
                    f"{did_you_mean(key, self.known)}: rename it, or start it with `_` to keep it as row "
                    f"metadata; the models take: {', '.join(self.known)}"
                )
                self.findings.add("", key, Mismatch("is not an input of any model", hint), place, in_row=True)
            for model in self.models:
                if takers and not model.takes(key):
                    self.dropped[(model.name, key)] += 1

    def notes(self) -> list[str]:
        """What is not sent to which model, once the rows are checked."""
        notes = []
        for (model_name, key), count in self.dropped.items():
            rows_word = "row" if count == 1 else "rows"
            notes.append(f"`{model_name}` does not take `{key}`: not sent to it ({count} {rows_word})")
        return notes


def _header(row: Row) -> str:
    match = _LINE.match(row.place)
    return f"{match['file']} header" if match else row.place


class _ModelCheck:
    """One model's defaults, matrix values and every row's values, each checked where it was written.

    Also gathers the local files this model's jobs send, exactly as `expand_jobs` finds them.
    """

    def __init__(
        self, loaded: LoadedSpec, model: ResolvedModel, readable: dict[Path, Mismatch | None]
    ) -> None:
        self.loaded = loaded
        self.model = model
        self.readable = readable
        self.findings = _Findings()
        self.files: set[Path] = set()
        provided = {*model.defaults, *model.matrix_keys}
        fields = model.schema.inputs or {}
        self.required = {name: f for name, f in fields.items() if f.required and name not in provided}
        for key, value in model.defaults.items():
            self._check(key, value, f"models[{model.index}].input.{key}", in_row=False)
        for key in model.matrix_keys:
            for value in loaded.spec.matrix[key]:
                self._check(key, value, f"matrix.{key}", in_row=False)
                self.files.update(local_paths(find_files(loaded, model, {key: value})))

    def check(self, row: Row) -> None:
        """One row's values as this model gets them."""
        model = self.model
        values = build_input(model, row, {})
        for key in row.values:
            if key in values and key not in model.matrix_keys:
                self._check(key, values[key], row.place, in_row=True)
        for name, spec_field in self.required.items():
            if name not in values:
                self.findings.add(model.name, name, _required(model, spec_field, row), row.place, in_row=True)
        sent = {k: v for k, v in values.items() if k not in model.matrix_keys}
        self.files.update(local_paths(find_files(self.loaded, model, sent)))

    def _check(self, key: str, value: Any, place: str, in_row: bool) -> None:
        fields = self.model.schema.inputs
        spec_field = fields.get(key) if fields is not None else None
        if fields is not None and spec_field is None:
            return  # not an input of this model: reported by check_models or not sent
        mismatch = _mismatch(self.loaded, spec_field, value, self.readable)
        if mismatch is not None:
            self.findings.add(self.model.name, key, mismatch, place, in_row, value)


def _required(model: ResolvedModel, spec_field: InputField, row: Row) -> Mismatch:
    hint = f": give it in every row or in models[{model.index}].input"
    if row.from_csv:
        hint += " (an empty CSV cell counts as not given)"
    if spec_field.default is not None:
        # Replicate validates against the schema, which does not fill in defaults.
        hint += f"; the schema lists a default ({show_value(spec_field.default)}) but still requires it"
    return Mismatch("is required", hint)


def _mismatch(
    loaded: LoadedSpec, spec_field: InputField | None, value: Any, readable: dict[Path, Mismatch | None]
) -> Mismatch | None:
    """What is wrong with one value for one input (`None`: no schema for it), files included."""
    if spec_field is None:
        path = local_file(loaded, value)  # without a schema, a string naming a file is sent as a file
        return _unreadable(path, readable) if path is not None else None
    if value is None or not (spec_field.is_file or spec_field.is_file_list):
        return spec_field.check(value)
    if spec_field.is_file:
        return _file_mismatch(loaded, value, readable)
    if not isinstance(value, (list, tuple)):
        return spec_field.check(value)
    for index, item in enumerate(value):
        found = _file_mismatch(loaded, item, readable)
        if found is not None:
            return Mismatch(f"has an item ([{index}] = {show_value(item)}) that {found.what}", found.hint)
    return None


def _file_mismatch(loaded: LoadedSpec, value: Any, readable: dict[Path, Mismatch | None]) -> Mismatch | None:
    if not isinstance(value, str):
        return Mismatch("is not a file path or URL")
    if is_link(value):
        return None
    try:
        path = loaded.resolve_path(value)
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, ValueError, RuntimeError):
        return Mismatch("is neither a URL nor a file path")
    if is_file:
        return _unreadable(path, readable)
    if is_dir:
        return Mismatch("is a folder", ": give a file in it, or a URL")
    relative = not Path(value).expanduser().is_absolute()
    hint = f": relative paths start at the spec's folder, {loaded.base_dir}" if relative else ""
    return Mismatch("is neither a URL nor an existing file", hint)


def _unreadable(path: Path, readable: dict[Path, Mismatch | None]) -> Mismatch | None:
    if path not in readable:
        try:
            with open(path, "rb"):
                readable[path] = None
        except OSError as error:
            readable[path] = Mismatch("cannot be read", f" ({error.strerror or error})")
    return readable[path]


@dataclass
class _Findings:
    """Problems per value, merged when they are the same problem on the same input of the same model."""

    groups: dict[tuple[str, str, Mismatch, bool], list[tuple[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(
        self, model: str, key: str, mismatch: Mismatch, place: str, in_row: bool, value: Any = _NO_VALUE
    ) -> None:
        """Record one problem of `model` (empty: of the spec) with input `key` at `place`."""
        self.groups[(model, key, mismatch, in_row)].append((place, value))

    def problems(self, source: str) -> list[Problem]:
        """One Problem per group, with its places and values merged."""
        problems = []
        for (model, key, mismatch, is_row), found in self.groups.items():
            places = list(dict.fromkeys(place for place, _ in found))
            values = list(dict.fromkeys(show_value(v) for _, v in found if v is not _NO_VALUE))
            for_model = f" for `{model}`" if model else ""
            if len(places) == 1:
                place = places[0] + (f".{key}" if is_row and places[0].endswith("]") else "")
                given = f" = {values[0]}" if len(values) == 1 else ""
                listed = f" ({_shown(values)})" if len(values) > 1 else ""
            else:
                place = (f"{len(places)} rows: " if is_row else "") + _places(places)
                given, listed = "", f" ({_shown(values)})" if values else ""
            message = f"`{key}`{given} {mismatch.what}{for_model}{listed}{mismatch.hint}"
            problems.append(Problem(source, place, message))
        return problems


def _shown(values: list[str]) -> str:
    more = len(values) - MAX_VALUES_SHOWN
    return ", ".join(values[:MAX_VALUES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _places(places: list[str]) -> str:
    """`rows.csv lines 4-6, 9` for lines of one file, else the places joined; long lists shortened."""
    lines = [_LINE.match(p) for p in places]
    files = {m["file"] for m in lines if m}
    if len(files) == 1 and all(lines):
        numbers = sorted({int(m["line"]) for m in lines if m})
        spans: list[list[int]] = []
        for number in numbers:
            if spans and number == spans[-1][-1] + 1:
                spans[-1].append(number)
            else:
                spans.append([number])
        texts = [f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans]
        hidden = sum(len(s) for s in spans[MAX_PLACES_SHOWN:])
        shown = ", ".join(texts[:MAX_PLACES_SHOWN]) + (f" and {hidden} more" if hidden else "")
        return f"{files.pop()} {'line' if len(numbers) == 1 else 'lines'} {shown}"
    more = len(places) - MAX_PLACES_SHOWN
    return ", ".join(places[:MAX_PLACES_SHOWN]) + (f" and {more} more" if more > 0 else "")
