"""The pages' style and script, kept as package data (`reports/static/`) and read once."""

from __future__ import annotations

import functools
from importlib.resources import files


@functools.cache
def static_text(name: str) -> str:
    """The text of `static/<name>` (`report.css`, `report.js`, `compare.css`)."""
    return files("replicate_batch.reports").joinpath("static", name).read_text(encoding="utf-8")
