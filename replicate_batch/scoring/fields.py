"""Values inside outputs and rows: JSON read from an output, dot paths into it, values shown as text."""

from __future__ import annotations

import enum
import json
from typing import Any, Final


class Missing(enum.Enum):
    """The type of MISSING: no such value (distinct from JSON null)."""

    MISSING = enum.auto()


MISSING: Final = Missing.MISSING


# What a text `json.loads` reads can start with (after JSON's whitespace): most outputs are prose, and
# turning them away here costs far less than the exception would.
_JSON_STARTS = frozenset('{["-0123456789tfnNI')


def json_of(output_value: Any) -> Any:
    """An output as JSON: a parsed value as is, text parsed as JSON, or MISSING when the text is not JSON."""
    if not isinstance(output_value, str):
        return output_value
    if output_value.lstrip(" \t\n\r")[:1] not in _JSON_STARTS:
        return MISSING
    try:
        return json.loads(output_value)
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        return MISSING


def read_path(value: Any, path: str) -> Any:
    """The value at a dot path (`scores.0.label`) of a JSON object or list, or MISSING.

    A part indexes a list when the value there is a list (`0`, `-1`), else it is a key of an object.
    """
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return value


def as_text(value: Any) -> str:
    """A value as it is compared and put in templates: text as is, other values as JSON, null as empty."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int or type(value) is float:  # as JSON writes them, without its overhead
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def is_valid_path(path: str) -> bool:
    """Whether a dot path is well formed: no empty part."""
    return all(path.split("."))
