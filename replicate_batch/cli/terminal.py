"""Everything the command line prints goes through here: the token redacted, control characters escaped.

Model outputs, row ids and server messages end up in summaries, comparisons and errors; sent raw, an
escape sequence in them would clear the screen, retitle the window or hide text. Newlines and tabs
stay; every other control character (and the bidirectional-text overrides) is shown as `\\x1b` /
`\\u202e`.
"""

from __future__ import annotations

import re
from typing import TextIO

from ..errors import ProblemsFound, ReplicateBatchError
from ..redaction import redact

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as it may be shown on a terminal: redacted, control characters written out."""
    return _CONTROL.sub(_escaped, redact(text))


def say(text: str, file: TextIO | None = None) -> None:
    """Print `text` made printable, on `file` (default: standard output), and flush it."""
    print(printable(text), file=file, flush=True)


def error_lines(error: ReplicateBatchError) -> list[str]:
    """How the CLI shows a library error: each problem on its line, or the error's one-line message."""
    if isinstance(error, ProblemsFound):
        return [
            *(f"error: {p}" for p in error.problems),
            "nothing was run: fix the problems above and try again",
        ]
    return [f"error: {error}"]
