"""Input rows: inline in the spec or from a .csv / .jsonl / .json / .yaml file."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem, SpecError
from .spec import LoadedSpec

ROW_FILE_SUFFIXES = (".csv", ".jsonl", ".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Row:
    """One input row: its id, the values sent to models, and `_` metadata kept for evaluation."""

    id: str
    values: Mapping[str, Any]
    metadata: Mapping[str, Any]
    place: str  # where the row came from, for messages: `inputs[3]`, `rows.csv line 7`
    from_csv: bool = False  # CSV values are strings, to be converted by the model's schema


def load_rows(loaded: LoadedSpec) -> list[Row]:
    """Read and check the spec's rows; raises SpecError listing every problem."""
    inputs = loaded.spec.inputs
    if isinstance(inputs, str):
        path = loaded.resolve_path(inputs)
        source = str(path)
        raw = list(_read_row_file(path, source))
        from_csv = path.suffix.lower() == ".csv"
    else:
        source = loaded.source
        raw = [(f"inputs[{i}]", row) for i, row in enumerate(inputs)]
        from_csv = False
    if not raw:
        raise SpecError.single(source, "inputs", "no rows: add at least one row")
    problems: list[Problem] = []
    rows: list[Row] = []
    first_place: dict[str, str] = {}
    for position, (place, data) in enumerate(raw, start=1):
        if not isinstance(data, Mapping):
            problems.append(
                Problem(source, place, f"expected a mapping of input names to values, got {data!r}")
            )
            continue
        row_id = str(data["id"]) if data.get("id") not in (None, "") else str(position)
        if row_id in first_place:
            problems.append(
                Problem(source, place, f"row id {row_id!r} is already used by {first_place[row_id]}")
            )
            continue
        first_place[row_id] = place
        values = {str(k): v for k, v in data.items() if k != "id" and not str(k).startswith("_")}
        metadata = {str(k): v for k, v in data.items() if str(k).startswith("_")}
        rows.append(Row(id=row_id, values=values, metadata=metadata, place=place, from_csv=from_csv))
    if problems:
        raise SpecError(problems)
    return rows


def _read_row_file(path: Path, source: str) -> Iterator[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in ROW_FILE_SUFFIXES:
        raise SpecError.single(source, "inputs", f"expected a {', '.join(ROW_FILE_SUFFIXES)} file of rows")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise SpecError.single(source, "inputs", f"cannot read the rows file: {error.strerror}") from None
    name = path.name
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines(keepends=True))
        for record in reader:
            if None in record:
                raise SpecError.single(
                    source, f"{name} line {reader.line_num}", "more cells than header columns"
                )
            # An empty cell means "not given", so one CSV can feed models with different inputs.
            yield (
                f"{name} line {reader.line_num}",
                {k: v for k, v in record.items() if v not in ("", None)},
            )
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield f"{name} line {number}", json.loads(line)
                except json.JSONDecodeError as error:
                    raise SpecError.single(
                        source, f"{name} line {number}", f"invalid JSON: {error.msg}"
                    ) from None
    else:
        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise SpecError.single(source, "", f"cannot parse the rows file: {error}") from None
        if not isinstance(data, list):
            raise SpecError.single(source, "", "expected a list of rows")
        for index, row in enumerate(data):
            yield f"{name} [{index}]", row
