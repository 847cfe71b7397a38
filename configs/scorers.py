"""Python scorers for the specs in this folder (`python: scorers.py:FUNCTION`).

A scorer names the keyword arguments it wants among `output` (the text, or the parsed value of a
JSON output), `row` (the row's fields), `input` (what was sent), `files` (the downloaded output
files, as paths) and `model` (the model's name), and returns a number, a bool, None (unscored) or
(number, note).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def within_max_words(output: str, input: dict[str, Any]) -> bool:
    """1 when the text has at most the `max_words` words the model was sent."""
    return len(output.split()) <= int(input["max_words"])


def pngs_as_asked(files: list[Path], input: dict[str, Any]) -> tuple[float, str]:
    """1 when the model made the `num_outputs` files it was asked for and each is a PNG."""
    asked = int(input.get("num_outputs", 1))
    pngs = sum(path.read_bytes()[:8] == PNG_SIGNATURE for path in files)
    return float(pngs == len(files) == asked), f"{pngs} PNG files of {asked} asked for"


def files_as_asked(files: list[Path], input: dict[str, Any]) -> tuple[float, str]:
    """1 when the model made the `num_outputs` files it was asked for (any type)."""
    asked = int(input.get("num_outputs", 1))
    return float(len(files) == asked), f"{len(files)} files of {asked} asked for"
