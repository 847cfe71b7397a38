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
from .strict_yaml import load_yaml, yaml_error_place

ROW_FILE_SUFFIXES = (".csv", ".jsonl", ".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Row:
    """One input row: its id, the values sent to models, and `_` metadata kept for evaluation."""

    id: str
    values: Mapping[str, Any]
    metadata: Mapping[str, Any]
    place: str  # where the row came from, for messages: `inputs[3]`, `rows.csv line 7`, `rows.json[3]`
    from_csv: bool = False  # CSV values are strings, to be converted by the model's schema


def load_rows(loaded: LoadedSpec) -> list[Row]:
    """Read and check the spec's rows; raises SpecError listing every problem.

    Every problem names the spec as its file and the row by its place: `inputs[3]` for inline rows,
    `rows.csv line 7` for a .csv or .jsonl file, `rows.json[3]` for a .json or .yaml list.
    """
    inputs = loaded.spec.inputs
    source = loaded.source
    if isinstance(inputs, str):
        path = loaded.resolve_path(inputs)
        raw = list(_read_row_file(path, source))
        from_csv = path.suffix.lower() == ".csv"
        empty = f"{path.name} has no rows: add at least one row under the header" if from_csv else ""
    else:
        raw = [(f"inputs[{i}]", row) for i, row in enumerate(inputs)]
        from_csv = False
        empty = ""
    if not raw:
        raise SpecError.single(source, "inputs", empty or "no rows: add at least one row")
    problems: list[Problem] = []
    rows: list[Row] = []
    first_place: dict[str, str] = {}
    for position, (place, data) in enumerate(raw, start=1):
        if not isinstance(data, Mapping):
            problems.append(
                Problem(source, place, f"expected a row (a mapping of input names to values), got {data!r}")
            )
            continue
        row_id = str(data["id"]) if data.get("id") not in (None, "") else str(position)
        if row_id in first_place:
            problems.append(
                Problem(
                    source,
                    place,
                    f"row id {row_id!r} is already used by {first_place[row_id]}: give each row its own id",
                )
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
        raise SpecError.single(
            source, "inputs", f"{path}: expected a {', '.join(ROW_FILE_SUFFIXES)} file of rows"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpecError.single(source, "inputs", f"cannot read the rows file {path}: {reason}") from None
    name = path.name
    if suffix == ".csv":
        reader = csv.reader(text.splitlines(keepends=True))
        header = [cell.strip() for cell in next(reader, [])]
        twice = sorted({column for column in header if column and header.count(column) > 1})
        if twice:
            columns = ", ".join(f"`{column}`" for column in twice)
            raise SpecError.single(source, f"{name} header", f"{columns} given twice: keep one column each")
        for cells in reader:
            place = f"{name} line {reader.line_num}"
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                raise SpecError.single(
                    source, place, "more cells than the header has columns: quote cells that hold commas"
                )
            # An empty cell means "not given", so one CSV can feed models with different inputs.
            record = {column: cell for column, cell in zip(header, cells) if cell != ""}
            if "" in record:
                raise SpecError.single(
                    source, place, "a cell under a column with no name: name it in the header"
                )
            if any(cell.strip() for cell in cells):  # a spreadsheet's trailing ",,," is not a row
                yield place, record
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield f"{name} line {number}", json.loads(line)
                except json.JSONDecodeError as error:
                    raise SpecError.single(
                        source, f"{name} line {number}, column {error.colno}", f"invalid JSON: {error.msg}"
                    ) from None
    else:
        try:
            data = json.loads(text) if suffix == ".json" else load_yaml(text)
        except json.JSONDecodeError as error:
            where = f"{name} line {error.lineno}, column {error.colno}"
            raise SpecError.single(source, where, f"invalid JSON: {error.msg}") from None
        except yaml.YAMLError as error:
            place, message = yaml_error_place(error)
            raise SpecError.single(source, f"{name} {place}".strip(), f"invalid YAML: {message}") from None
        if not isinstance(data, list):
            raise SpecError.single(source, name, f"expected a list of rows, got {type(data).__name__}")
        for index, row in enumerate(data):
            yield f"{name}[{index}]", row
