"""CSV read with cells of any size: the `csv` module refuses a cell over 128 KiB unless told otherwise."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader


def csv_reader(lines: Iterable[str], *, strict: bool = False) -> Reader:
    """`csv.reader` over lines, for cells of any size (a long model output, a long prompt).

    Every CSV this package reads goes through here: results.csv (by the report, `compare`, `merge`)
    and rows files. `strict` makes a malformed row an error (a quote never closed, text after a
    closing quote) instead of a guess.
    """
    csv.field_size_limit(sys.maxsize)  # the limit is process-wide, and no reader of ours wants one
    return csv.reader(lines, strict=strict)
