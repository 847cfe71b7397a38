"""`replicate-batch merge RUN_DIR... --into DIR`: combine the run folders of one spec's shards."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ReplicateBatchError
from ..reports.page import write_report
from ..runfolder.merge import merge_runs
from ..runner import EXIT_INVALID
from .terminal import say


def merge_command(argv: Sequence[str]) -> int:
    """`merge RUN_DIR... --into DIR`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch merge",
        description="Combine the run folders of one spec's shards (--shard K/N) into one run folder.",
    )
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="shard run folders")
    parser.add_argument("--into", type=Path, required=True, metavar="DIR", help="the merged run folder")
    args = parser.parse_args(argv)
    try:
        merged = merge_runs(args.run_dirs, args.into)
        write_report(merged)
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(f"run folder: {merged}")
    return 0
