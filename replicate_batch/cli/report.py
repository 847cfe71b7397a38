"""`replicate-batch report RUN_DIR`: write (or rewrite) a run folder's report.html."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ReplicateBatchError
from ..reports.page import write_report
from ..runner import EXIT_INVALID
from .terminal import say


def report_command(argv: Sequence[str]) -> int:
    """`report RUN_DIR`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch report", description="Write (or rewrite) report.html in a run folder."
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.run_dir)
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(f"report: {path}")
    return 0
