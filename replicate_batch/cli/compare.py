"""`replicate-batch compare RUN_A RUN_B`: job by job and score by score; exit 1 on a regression."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ..errors import ReplicateBatchError
from ..reports.compare import compare_runs, comparison_text
from ..reports.compare_page import write_comparison
from ..reports.junit import comparison_junit, write_junit
from ..reports.records import load_run
from ..runner import EXIT_INVALID
from .terminal import say


def compare_command(argv: Sequence[str]) -> int:
    """`compare RUN_A RUN_B [--output FILE]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch compare",
        description="Compare two runs of a spec, job by job and score by score; exit 1 when RUN_B has "
        "new failures or a significantly lower mean.",
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run folder")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run folder")
    parser.add_argument("--output", type=Path, metavar="FILE", help="where to write compare.html")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write the result as JUnit XML")
    args = parser.parse_args(argv)
    try:
        comparison = compare_runs(load_run(args.run_a), load_run(args.run_b))
        say(comparison_text(comparison))
        say(f"compare page: {write_comparison(comparison, args.output)}")
        if args.junit:
            say(f"junit: {write_junit(comparison_junit(comparison), args.junit)}")
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    except Exception:  # a bug: exit 1 would read as "new failures" to a scheduled sweep
        traceback.print_exc()
        say("error: compare stopped on an internal error (above); nothing was compared", sys.stderr)
        return EXIT_INVALID
    return comparison.exit_code
