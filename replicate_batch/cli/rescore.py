"""`replicate-batch rescore RUN_DIR [--spec SPEC]`: score a finished run again, creating nothing."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ReplicateBatchError
from ..rescore import rescore_run
from ..runner import EXIT_INTERRUPTED, EXIT_INVALID
from .junit import junit_target_ok, write_run_junit
from .terminal import error_lines, say


def rescore_command(argv: Sequence[str]) -> int:
    """`rescore RUN_DIR [--spec SPEC]`; returns the exit status (0, 1 or 3 as a run's; 2 when refused)."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch rescore",
        description="Compute a finished run's scores again (results.csv, manifest.json, report.html) "
        "without creating a prediction.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    parser.add_argument(
        "--spec",
        type=Path,
        metavar="SPEC",
        help="take `scorers:` (and `group_by:`) from this file instead of RUN_DIR/spec.yaml",
    )
    parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="write the score gates and failed jobs as JUnit XML"
    )
    args = parser.parse_args(argv)
    if args.junit and not junit_target_ok(args.junit):
        return EXIT_INVALID
    try:
        summary = rescore_run(args.run_dir, args.spec)
    except KeyboardInterrupt:
        say(
            "interrupted: nothing was changed; the judge replies it got are journaled, and the next "
            "rescore reuses them",
            sys.stderr,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # a judge's create still awaiting its answer is not waited for
    except ReplicateBatchError as error:
        for line in error_lines(error):
            say(line.replace("nothing was run", "nothing was changed"), sys.stderr)
        return EXIT_INVALID
    for warning in summary.warnings:
        say(f"warning: {warning}", sys.stderr)
    say(summary.table)
    say(f"run folder: {summary.run_dir}")
    for failure in summary.gate_failures:
        say(failure, sys.stderr)
    if args.junit and summary.run_dir is not None:
        write_run_junit(summary.run_dir, args.junit)
    return summary.exit_code
