"""`replicate-batch merge RUN_DIR... --into DIR`: combine the run folders of one spec's shards, then
score the merged run again so that its manifest aggregates every shard's jobs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ..errors import ReplicateBatchError, SpecError
from ..reports.page import write_report
from ..rescore import rescore_run
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
        scored = _score(merged)
        if not scored:
            write_report(merged)
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(f"run folder: {merged}")
    return 0


def _score(merged: Path) -> bool:
    """Aggregate the merged run's scores (each shard's manifest has only its own): `rescore` it.

    Returns whether it did (it writes the report too); a run that cannot be rescored here (its rows
    file is on another machine, say) keeps its scores in results.csv, without aggregates, and says so.
    """
    try:
        spec = yaml.safe_load((merged / "spec.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(spec, dict) or not spec.get("scorers"):
        return False
    try:
        summary = rescore_run(merged)
    except SpecError as error:
        say(
            f"warning: the merged run's scores were not aggregated ({error.problems[0]}); "
            f"run `rescore {merged}` where its rows are",
            sys.stderr,
        )
        return False
    for warning in summary.warnings:
        say(f"warning: {warning}", sys.stderr)
    return True
