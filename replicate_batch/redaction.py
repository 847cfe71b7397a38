"""The API token kept out of everything the runner writes or prints, wherever the text came from.

A server or a proxy may quote a request's headers in an error body, so any message can carry the
`Authorization` header. The run folder's one writer (runfolder.py) and the terminal's (terminal.py)
pass all their text through `redact`; nothing else needs to.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from typing import Any

TOKEN_VARIABLE = "REPLICATE_API_TOKEN"
REDACTED = "<redacted>"  # safe inside JSON, CSV, YAML plain scalars and HTML-escaped text
# Replicate's tokens (`r8_` and 37 letters and digits), alone or in `Bearer r8_...` / `Token r8_...`;
# not `layer8_weights`, nor a file or row name that merely contains `r8_`.
_TOKEN_SHAPE = re.compile(r"\br8_[A-Za-z0-9]{30,}")
_SHORTEST_SECRET = 8  # a shorter "token" would redact ordinary words; Replicate's are 40 characters

_known: set[str] = set()
_known_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Redact `value` too from now on (a token given in code rather than in the environment)."""
    value = value.strip()
    if len(value) >= _SHORTEST_SECRET:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    """`text` with the API token (as set now, or remembered) and anything shaped like one replaced."""
    from_env = os.environ.get(TOKEN_VARIABLE, "").strip()
    with _known_lock:
        secrets = [*_known, from_env] if len(from_env) >= _SHORTEST_SECRET else list(_known)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text) if "r8_" in text else text


def redact_cells(cells: Sequence[Any]) -> list[Any]:
    """A row's cells with every text cell redacted.

    The cells are searched together, once: a row rarely holds a secret, and one search costs what one
    of a dozen does. They are joined by NUL, which no secret contains, so a secret found in the join is in
    one cell, unless it spans two; either way each text cell is then redacted on its own.
    """
    joined = "\0".join(cell for cell in cells if cell and isinstance(cell, str))
    if redact(joined) == joined:
        return list(cells)
    return [redact(cell) if cell and isinstance(cell, str) else cell for cell in cells]
