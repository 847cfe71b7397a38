"""What an input or output value names: a URL or data URL (it travels as it is), or a local file.

One place for the rule the jobs (what to upload), the outputs (what to download) and the report (what
to show as a thumbnail or a link) all follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

URL_PREFIXES = ("http://", "https://")
LINK_PREFIXES = (*URL_PREFIXES, "data:")  # a file given by reference: an http(s) URL or a data URL


def is_url(value: Any) -> bool:
    """Whether a value is an http(s) URL."""
    return isinstance(value, str) and value.startswith(URL_PREFIXES)


def is_link(value: Any) -> bool:
    """Whether a value is an http(s) URL or a data URL: a file that goes as it is, never a local path."""
    return isinstance(value, str) and value.startswith(LINK_PREFIXES)


def local_file(value: Any, base_dir: Path) -> Path | None:
    """The existing local file a string names (`~` expanded, relative to `base_dir`), or None.

    URLs, data URLs, empty strings and text with a newline name no file.
    """
    if not isinstance(value, str) or not value or is_link(value) or "\n" in value:
        return None
    try:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base_dir / path
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None
