"""Jobs: every (model, row, matrix combination, repeat) of a spec, expanded lazily."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import values
from .rows.rowset import Row, RowSet
from .schema import ModelSchema
from .spec.loading import LoadedSpec

# A local file input: one file, or a list of files whose local ones are Paths (the rest sent as given).
FileInput = Path | tuple[Path | str, ...]


@dataclass(frozen=True)
class ResolvedModel:
    """What the runner knows about one model entry once it has been resolved."""

    index: int
    name: str
    model_ref: str
    schema: ModelSchema
    defaults: Mapping[str, Any]
    matrix_keys: tuple[str, ...]  # the matrix keys this model takes

    def takes(self, field_name: str) -> bool:
        """Whether this model's schema lists the input (always true without a schema)."""
        return self.schema.accepts(field_name)


@dataclass(frozen=True)
class Job:
    """One prediction to make: which model, which row, which matrix values, which repeat."""

    index: int
    job_id: str
    model: str
    row: Row
    repeat: int
    matrix: Mapping[str, Any]
    input: Mapping[str, Any]  # what is sent, with local files still as the spec gave them
    files: Mapping[str, FileInput] = field(default_factory=dict)  # input name -> local file(s) to send


def job_id_for(model: str, row_id: str, matrix: Mapping[str, Any], repeat: int) -> str:
    """Stable id of a job: the same (model, row, matrix values, repeat) gives the same id."""
    key = json.dumps([model, row_id, sorted(matrix.items()), repeat], default=str, separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def local_file(loaded: LoadedSpec, value: Any) -> Path | None:
    """The existing local file a string input names (relative to the spec's folder), or None."""
    return values.local_file(value, loaded.base_dir)


def build_input(model: ResolvedModel, row: Row, combo: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then the row's values the model takes, then matrix values; CSV strings converted."""
    values: dict[str, Any] = dict(model.defaults)
    for key, value in row.values.items():
        if model.takes(key):
            values[key] = value
    values.update(combo)
    fields = model.schema.inputs
    if fields is not None and row.from_csv:
        for key, value in values.items():
            if key in row.values and key in fields:
                values[key] = fields[key].convert(value)
    return values


def find_files(loaded: LoadedSpec, model: ResolvedModel, values: Mapping[str, Any]) -> dict[str, FileInput]:
    """The inputs of a job that are local files to send as files, or lists holding some."""
    found: dict[str, FileInput] = {}
    fields = model.schema.inputs
    for key, value in values.items():
        spec_field = fields.get(key) if fields is not None else None
        if spec_field is not None and spec_field.is_file_list:
            items = _file_items(loaded, value)
            if items is not None:
                found[key] = items
            continue
        if spec_field is not None and not spec_field.is_file:
            continue  # a text input that happens to name a file is still text
        path = local_file(loaded, value)
        if path is not None:
            found[key] = path
    return found


def _file_items(loaded: LoadedSpec, value: Any) -> tuple[Path | str, ...] | None:
    """A list of files with its local ones as Paths, in order; None if it names no local file."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        return None  # the preflight reports items that are not paths or URLs
    items = tuple(local_file(loaded, item) or item for item in value)
    return items if any(isinstance(item, Path) for item in items) else None


def local_paths(files: Mapping[str, FileInput]) -> set[Path]:
    """Every distinct local file a job's inputs send, lists included."""
    paths: set[Path] = set()
    for found in files.values():
        if isinstance(found, Path):
            paths.add(found)
        else:
            paths.update(item for item in found if isinstance(item, Path))
    return paths


def matrix_combinations(matrix: Mapping[str, Sequence[Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Every combination of the given matrix keys' values (one empty combination for none)."""
    return [dict(zip(keys, values)) for values in itertools.product(*(matrix[k] for k in keys))]


def expand_jobs(loaded: LoadedSpec, models: Sequence[ResolvedModel], rows: RowSet) -> Iterator[Job]:
    """Yield every job in a stable order: model, row, matrix combination, repeat.

    The rows are read once per model, as the run reaches that model's jobs.
    """
    index = 0
    matrix = loaded.spec.matrix
    for model in models:
        combos = matrix_combinations(matrix, model.matrix_keys)
        for row in rows:
            for combo in combos:
                values = build_input(model, row, combo)
                files = find_files(loaded, model, values)
                for repeat in range(loaded.spec.repeat):
                    yield Job(
                        index=index,
                        job_id=job_id_for(model.name, row.id, combo, repeat),
                        model=model.name,
                        row=row,
                        repeat=repeat,
                        matrix=combo,
                        input=values,
                        files=files,
                    )
                    index += 1


def count_jobs(loaded: LoadedSpec, models: Sequence[ResolvedModel], rows: RowSet) -> dict[str, int]:
    """Jobs per model, without expanding them or reading the rows."""
    counts = {}
    for model in models:
        combos = 1
        for key in model.matrix_keys:
            combos *= len(loaded.spec.matrix[key])
        counts[model.name] = combos * len(rows) * loaded.spec.repeat
    return counts
