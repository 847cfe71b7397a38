"""`replicate-batch merge RUN_DIR... --into DIR`: combine the run folders of one spec's shards, then
score the merged run again so that its manifest aggregates every shard's jobs.

It tells what a run of the whole sweep would: the summary table, the thresholds not met, and the exit
status (0, 1 when a job failed or was canceled, 3 when a threshold was not met), so that CI can gate a
sharded sweep on its merge; 2 when the folders cannot be merged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from ..errors import ReplicateBatchError, SpecError
from ..execution.progress import summary_table
from ..reports.page import write_report
from ..reports.records import load_run, read_results
from ..reports.stats import StatsTally
from ..rescore import rescore_run
from ..runfolder.merge import merge_runs
from ..runner import EXIT_INVALID, RunSummary, exit_status
from .junit import junit_target_ok, write_run_junit
from .terminal import say


def merge_command(argv: Sequence[str]) -> int:
    """`merge RUN_DIR... --into DIR`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="replicate-batch merge",
        description="Combine the run folders of one spec's shards (--shard K/N) into one run folder.",
    )
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="shard run folders")
    parser.add_argument("--into", type=Path, required=True, metavar="DIR", help="the merged run folder")
    parser.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="write the merged run's score gates and failed jobs as JUnit XML",
    )
    args = parser.parse_args(argv)
    if args.junit and not junit_target_ok(args.junit):
        return EXIT_INVALID
    try:
        merged = merge_runs(args.run_dirs, args.into)
        summary = _score(merged) or _unscored(merged)
    except (ReplicateBatchError, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(summary.table)
    say(f"run folder: {merged}")
    for failure in summary.gate_failures:
        say(failure, sys.stderr)
    if args.junit:
        write_run_junit(merged, args.junit)
    return summary.exit_code


def _score(merged: Path) -> RunSummary | None:
    """Aggregate the merged run's scores (each shard's manifest has only its own): `rescore` it.

    Returns its summary when it did (it writes the report too); a run that cannot be rescored here
    (its rows file is on another machine, say) keeps its scores in results.csv, without aggregates,
    and says so.
    """
    try:
        spec = yaml.safe_load((merged / "spec.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(spec, dict) or not spec.get("scorers"):
        return None
    try:
        summary = rescore_run(merged)
    except SpecError as error:
        say(
            f"warning: the merged run's scores were not aggregated ({error.problems[0]}); "
            f"run `rescore {merged}` where its rows are",
            sys.stderr,
        )
        return None
    for warning in summary.warnings:
        say(f"warning: {warning}", sys.stderr)
    return summary


def _unscored(merged: Path) -> RunSummary:
    """The summary of a merged run not scored here, its report written: jobs by status, per model."""
    write_report(merged)
    run = load_run(merged, with_results=False)
    tally = StatsTally(run.model_names)
    for record in read_results(merged):
        tally.add(record)
    counts = run.manifest.counts
    table = summary_table(tally.stats(every_model=True))
    return RunSummary(merged, sum(counts.values()), counts, exit_status(counts, ()), table)
