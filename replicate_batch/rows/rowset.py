"""Input rows: inline in the spec or from a .csv / .jsonl / .json / .yaml file.

Rows from a .csv or .jsonl file are not held: every pass over a `RowSet` reads the file again (see
`rowfile`), so a million-row file costs a run no more memory than a thousand-row one. Rows of a
.json or .yaml list, parsed as a whole, and inline rows are held.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem, SpecError
from ..spec.loading import LoadedSpec
from ..spec.problems import show_value
from ..spec.strict_yaml import load_yaml, yaml_error_place
from .rowfile import Record, RowFile, cannot_read, json_beyond_limits, open_regular

ROW_FILE_SUFFIXES = (".csv", ".jsonl", ".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its id, the values sent to models, and `_` metadata kept for evaluation."""

    id: str
    values: Mapping[str, Any]
    metadata: Mapping[str, Any]
    place: str  # where the row came from, for messages: `inputs[3]`, `rows.csv line 7`, `rows.json[3]`
    from_csv: bool = False  # CSV values are strings, to be converted by the model's schema


class RowSet:
    """A spec's checked rows: every iteration is a fresh pass in file order.

    Built from the checking pass, which also gives what later passes need without reading again:
    `len()`, and the names of the rows' values and `_` metadata in the order they first appear.
    """

    def __init__(
        self,
        checked: Iterable[Row],
        passes: Callable[[], Iterator[Row]],
        each: Callable[[Row], object] | None = None,
    ) -> None:
        """`each`, when given, sees every row of the checking pass (a caller that keeps something of
        every row needs no pass of its own)."""
        count = 0
        values: dict[str, None] = {}
        metadata: dict[str, None] = {}
        for row in checked:
            if each is not None:
                each(row)
            count += 1
            values.update(dict.fromkeys(row.values))
            metadata.update(dict.fromkeys(row.metadata))
        self._count = count
        self._passes = passes
        self.value_names = tuple(values)
        self.metadata_names = tuple(metadata)

    def __iter__(self) -> Iterator[Row]:
        return self._passes()

    def __len__(self) -> int:
        return self._count


def load_rows(loaded: LoadedSpec, each: Callable[[Row], object] | None = None) -> RowSet:
    """Read and check the spec's rows; raises SpecError listing every problem.

    `each`, when given, is called with every row as it is checked (`RowSet`).

    Every problem names the spec as its file and the row by its place: `inputs[3]` for inline rows,
    `rows.csv line 7` for a .csv or .jsonl file, `rows.json[3]` for a .json or .yaml list.
    """
    inputs = loaded.spec.inputs
    source = loaded.source
    if not isinstance(inputs, str):
        return _held(source, enumerate(inputs), lambda i: f"inputs[{i}]", each)
    path = loaded.resolve_path(inputs)
    suffix = path.suffix.lower()
    if suffix not in ROW_FILE_SUFFIXES:
        raise SpecError.single(
            source, "inputs", f"{path}: expected a {', '.join(ROW_FILE_SUFFIXES)} file of rows"
        )
    if suffix not in (".csv", ".jsonl"):
        return _held(source, _read_list(path, source), lambda i: f"{path.name}[{i}]", each)
    row_file = RowFile(path, source)
    rows = RowSet(
        _checked(source, row_file.records(), row_file.place, row_file.is_csv),
        lambda: _rows(row_file.records(), row_file.place, row_file.is_csv),
        each,
    )
    if not len(rows):
        empty = f"{path.name} has no rows: add at least one row under the header" if row_file.is_csv else ""
        raise SpecError.single(source, "inputs", empty or "no rows: add at least one row")
    return rows


def _held(
    source: str, records: Iterable[Record], place: Callable[[int], str], each: Callable[[Row], object] | None
) -> RowSet:
    held = tuple(_checked(source, records, place, from_csv=False))
    if not held:
        raise SpecError.single(source, "inputs", "no rows: add at least one row")
    return RowSet(held, held.__iter__, each)


def _checked(
    source: str, records: Iterable[Record], place: Callable[[int], str], from_csv: bool
) -> Iterator[Row]:
    """The rows of `records`; every problem is gathered and raised after the last row."""
    problems: list[Problem] = []
    first_number: dict[str, int] = {}  # row id -> where it was first used, for the duplicate check
    for position, (number, data) in enumerate(records, start=1):
        if not isinstance(data, Mapping):
            message = f"expected a row (a mapping of input names to values), got {show_value(data)}"
            problems.append(Problem(source, place(number), message))
            continue
        row = _row(data, position, place(number), from_csv)
        if row.id in first_number:
            problems.append(
                Problem(
                    source,
                    row.place,
                    f"row id {show_value(row.id)} is already used by {place(first_number[row.id])}: "
                    "give each row its own id",
                )
            )
            continue
        first_number[row.id] = number
        yield row
    if problems:
        raise SpecError(problems)


def _rows(records: Iterable[Record], place: Callable[[int], str], from_csv: bool) -> Iterator[Row]:
    """The rows of records checked before: the same ids, places and values as `_checked` gave."""
    for position, (number, data) in enumerate(records, start=1):
        yield _row(data, position, place(number), from_csv)


def _row(data: Mapping[Any, Any], position: int, place: str, from_csv: bool) -> Row:
    row_id = str(data["id"]) if data.get("id") not in (None, "") else str(position)
    values: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key)
        if name.startswith("_"):
            metadata[name] = value
        elif key != "id":
            values[name] = value
    return Row(id=row_id, values=values, metadata=metadata, place=place, from_csv=from_csv)


def _read_list(path: Path, source: str) -> Iterator[Record]:
    """The rows of a .json or .yaml file: a list, parsed whole."""
    try:
        with open_regular(path) as handle:
            text = handle.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise cannot_read(source, path, error) from None
    name = path.name
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except json.JSONDecodeError as error:
        where = f"{name} line {error.lineno}, column {error.colno}"
        raise SpecError.single(source, where, f"invalid JSON: {error.msg}") from None
    except (ValueError, RecursionError) as error:  # valid JSON beyond Python's limits
        raise SpecError.single(source, name, json_beyond_limits(error)) from None
    except yaml.YAMLError as error:
        place, message = yaml_error_place(error)
        raise SpecError.single(source, f"{name} {place}".strip(), f"invalid YAML: {message}") from None
    if not isinstance(data, list):
        raise SpecError.single(source, name, f"expected a list of rows, got {type(data).__name__}")
    return enumerate(data)
