"""`replicate-batch history DIR`: every run of a spec below DIR, its scores per run, and history.html."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ReplicateBatchError
from ..reports.history import load_history
from ..reports.history_page import write_history
from ..reports.history_text import history_text
from ..runner import EXIT_INVALID
from .terminal import say


def history_command(argv: Sequence[str]) -> int:
    """`history DIR [--name NAME] [--output FILE]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch history",
        description="Every run of a spec below DIR, oldest first: each model's mean and interval per "
        "scorer and run, printed and written to DIR/history.html.",
    )
    parser.add_argument("root", type=Path, metavar="DIR", help="the folder to search for run folders")
    parser.add_argument("--name", metavar="NAME", help="only the runs of the spec named NAME")
    parser.add_argument("--output", type=Path, metavar="FILE", help="where to write history.html")
    args = parser.parse_args(argv)
    try:
        histories = load_history(args.root, args.name)
        say(history_text(histories))
        say(f"history page: {write_history(histories, args.root, args.output)}")
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    return 0
