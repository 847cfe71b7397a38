"""`replicate-batch SPEC`: run a spec, turning interrupts and signals into a saved, resumable state."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ..errors import Interrupted, ReplicateBatchError, RunStopped
from ..runner import EXIT_INTERRUPTED, EXIT_INVALID, RunSummary, run_batch
from ..sharding import parse_shard
from .junit import junit_target_ok, write_run_junit
from .terminal import error_lines, say


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicate-batch",
        description="Run a batch of model predictions described by a YAML spec.",
        epilog="other commands: `report RUN_DIR`, `compare RUN_A RUN_B [--output FILE]`, "
        "`history DIR [--name NAME] [--output FILE]`, `merge RUN_DIR... --into DIR [--junit FILE]`, "
        "`rescore RUN_DIR [--spec SPEC]`",
    )
    parser.add_argument("spec", type=Path, help="the spec file (YAML)")
    parser.add_argument(
        "--output-dir", type=Path, help="where run folders go (default: the spec's output_dir)"
    )
    parser.add_argument("--concurrency", type=_positive, help="predictions in flight at once")
    parser.add_argument("--limit", type=_positive, help="run only the first N jobs")
    parser.add_argument(
        "--dry-run", action="store_true", help="check everything, print the plan, create nothing"
    )
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run in its own folder")
    parser.add_argument("--force", action="store_true", help="with --resume: accept a spec that changed")
    parser.add_argument(
        "--shard", type=_shard, metavar="K/N", help="run only the K-th of N slices of the jobs (by job_id)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, no summary")
    parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="write the score gates and failed jobs as JUnit XML"
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def _shard(text: str) -> object:
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _hang_up(signum: int, frame: FrameType | None) -> None:
    """The terminal is gone (a closed window, an ssh drop): stop as on SIGTERM, writing to it no more.

    Writes to a hung-up terminal fail (EIO); stdout and stderr that are a terminal are pointed at
    /dev/null so the run can still save its state and exit 130.
    """
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
    finally:
        os.close(null)
    raise KeyboardInterrupt


def run_command(words: Sequence[str]) -> int:
    """`replicate-batch SPEC [options]`: run a spec; returns the exit status."""
    args = _parser().parse_args(words)
    if args.force and not args.resume:
        say("error: --force goes with --resume RUN_DIR", sys.stderr)
        return EXIT_INVALID
    if args.junit and not junit_target_ok(args.junit):
        return EXIT_INVALID
    previous_term = signal.signal(signal.SIGTERM, _terminate)
    previous_hup = signal.signal(signal.SIGHUP, _hang_up)
    try:
        summary = run_batch(
            args.spec,
            output_dir=args.output_dir,
            concurrency=args.concurrency,
            limit=args.limit,
            dry_run=args.dry_run,
            quiet=args.quiet,
            resume=args.resume,
            force=args.force,
            shard=args.shard,
            on_note=None if args.quiet else _note,
        )
    except RunStopped as stopped:
        _tell(stopped.summary, shown=True)
        for problem in stopped.problems:
            say(f"error: {problem}", sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as interrupted:
        _tell(interrupted.summary, shown=True)
        left = "; predictions still running were left running" if interrupted.leave_running else ""
        say(
            f"interrupted: state saved{left}; resume with\n  python -m replicate_batch {args.spec} "
            f"--resume {interrupted.summary.run_dir}",
            sys.stderr,
        )
        if interrupted.leave_running or interrupted.workers_left:  # don't wait for worker threads
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        say("interrupted before any prediction was created", sys.stderr)
        return EXIT_INTERRUPTED
    except ReplicateBatchError as error:
        for line in error_lines(error):
            say(line, sys.stderr)
        return EXIT_INVALID
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGHUP, previous_hup)
    _tell(summary, shown=not args.quiet)
    if args.junit and summary.run_dir is not None:
        write_run_junit(summary.run_dir, args.junit)
    return summary.exit_code


def _note(text: str) -> None:
    say(f"note: {text}", sys.stderr)


def _tell(summary: RunSummary, *, shown: bool) -> None:
    """Warnings, then the plan of a dry run (always), or the table and the run folder (when `shown`),
    then each threshold not met (unless interrupted: it is why the exit status is 3)."""
    for warning in summary.warnings:
        say(f"warning: {warning}", sys.stderr)
    if summary.run_dir is None:
        say(summary.table)
    elif shown:
        say(summary.table)
        say(f"run folder: {summary.run_dir}")
    if summary.exit_code != EXIT_INTERRUPTED:
        for failure in summary.gate_failures:
            say(failure, sys.stderr)
