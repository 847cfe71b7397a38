"""Problems found before anything runs, reported together with the place they were found."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..errors import Problem


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean `x`?)` hint for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def show_value(value: Any, limit: int = 60) -> str:
    """A value as messages show it: strings quoted, YAML's true/false/null, long values shortened.

    Only the start of a long value is ever rendered, so a huge (or alias-multiplied) value costs a
    message no more than `limit` characters.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, Mapping)):
        parts: list[str] = []
        _json_start(value, parts, limit + 1)
        text = "".join(parts)
        end = "}" if isinstance(value, Mapping) else "]"
    else:
        text = _repr_start(value, limit + 1)
        end = text[-1:]
    return text if len(text) <= limit else text[: limit - 4] + "..." + end


def _repr_start(value: Any, limit: int) -> str:
    if isinstance(value, str):
        return repr(value[:limit])
    try:
        return repr(value)
    except ValueError:  # an int past Python's 4,300-digit conversion limit
        return f"<a {type(value).__name__} too long to show>"


def _json_start(value: Any, parts: list[str], budget: int) -> int:
    """Append value's JSON (as `json.dumps` writes it) to parts until about `budget` characters.

    Returns the budget left. Every level opened costs one, so even a value containing itself ends.
    """
    if budget <= 0:
        return budget
    if isinstance(value, (Mapping, list, tuple)):
        mapping = isinstance(value, Mapping)
        parts.append("{" if mapping else "[")
        budget -= 1
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for index, (key, item) in enumerate(items):
            if budget <= 0:
                return budget
            if index:
                parts.append(", ")
                budget -= 2
            if mapping:
                key_text = _json_scalar(key if isinstance(key, str) else str(key), budget) + ": "
                parts.append(key_text)
                budget -= len(key_text)
            budget = _json_start(item, parts, budget)
        parts.append("}" if mapping else "]")
        return budget - 1
    text = _json_scalar(value, budget)
    parts.append(text)
    return budget - len(text)


def _json_scalar(value: Any, budget: int) -> str:
    if isinstance(value, str):
        return json.dumps(value[:budget], ensure_ascii=False)
    if value is None or isinstance(value, (bool, int, float)):
        try:
            return json.dumps(value)
        except ValueError:  # an int past Python's 4,300-digit conversion limit
            return '"<a number too long to show>"'
    return json.dumps(str(value)[:budget], ensure_ascii=False)  # as `json.dumps(default=str)` would


# What a value of the wrong type should have been, by pydantic error type.
_EXPECTED = {
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "union_tag_invalid": "",
    "union_tag_not_found": "",
    "shape": "",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "{} or more"),
    "greater_than": ("gt", "more than {}"),
    "less_than_equal": ("le", "{} or less"),
    "less_than": ("lt", "less than {}"),
}


def problems_from_validation(
    error: ValidationError,
    data: Any,
    source: str,
    *,
    shapes: Mapping[str, str],
    keys: Mapping[str, Sequence[str]],
) -> list[Problem]:
    """Pydantic's errors as Problems with the place as the user wrote it and a message to act on.

    `shapes` says what belongs at a place (`models[]`, `matrix.*`), for type errors and missing keys;
    `keys` lists the keys allowed in each mapping, for unknown-key hints. Both are keyed by the place
    with list indexes written `[]` and free mapping keys `*`.
    """
    problems: list[Problem] = []
    for item in error.errors():
        kind = item["type"]
        loc = tuple(item["loc"])
        place = place_of(loc, data, missing=kind == "missing")
        pattern = _pattern_of(place)
        shape = shapes.get(pattern) or shapes.get(pattern.rpartition(".")[0] + ".*", "")
        got = show_value(item.get("input"))
        context = item.get("ctx") or {}
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = keys.get(_pattern_of(place.rpartition(".")[0]), [])
            hint = did_you_mean(key, allowed) or (
                f": the keys here are {', '.join(allowed)}" if allowed else ""
            )
            message = f"unknown key `{key}`{hint}"
        elif kind == "missing":
            message = f"required but missing: {shape}" if shape else "required but missing"
        elif loc and loc[-1] == "[key]":
            message = f"the key {got} is not text: put it in quotes"
        elif kind in _EXPECTED:
            message = f"expected {shape or _EXPECTED[kind]}, got {got}"
        elif kind in _BOUNDS:
            name, text = _BOUNDS[kind]
            message = f"expected {text.format(show_value(_plain(context.get(name))))}, got {got}"
        elif kind == "too_short":
            count = context.get("min_length", 1)
            message = (
                f"expected {shape}, got an empty list" if shape else f"expected at least {count}, got none"
            )
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        problem = Problem(source, place, message)
        if problem not in problems:
            problems.append(problem)
    return problems


def place_of(loc: Sequence[int | str], data: Any, *, missing: bool = False) -> str:
    """`models[1].input.steps` for a pydantic error location, following the data the user wrote.

    Parts of the location that are not in the data (union tags, validator names) are left out; a
    missing key is the one exception, as it is named but absent.
    """
    place = ""
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            place, node = f"{place}[{part}]", node[part]
        elif isinstance(node, Mapping) and part in node:
            place, node = (f"{place}.{part}" if place else str(part)), node[part]
        elif missing and index == len(loc) - 1:
            place = f"{place}.{part}" if place else str(part)
    return place


def _plain(number: Any) -> Any:
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _pattern_of(place: str) -> str:
    return re.sub(r"\[\d+\]", "[]", place)
