"""The command line: parse arguments, call the library, turn its errors into messages and exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .problems import SpecError
from .runfolder import RunFolderBusy
from .runner import EXIT_INTERRUPTED, EXIT_INVALID, Interrupted, run_batch

SUBCOMMANDS: dict[str, str] = {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicate-batch",
        description="Run a batch of model predictions described by a YAML spec.",
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
    parser.add_argument("--quiet", action="store_true", help="no progress, no summary")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m replicate_batch` and `replicate-batch`; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.force and not args.resume:
        print("error: --force goes with --resume RUN_DIR", file=sys.stderr)
        return EXIT_INVALID
    previous = signal.signal(signal.SIGTERM, _terminate)
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
        )
    except SpecError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print("nothing was run: fix the problems above and try again", file=sys.stderr)
        return EXIT_INVALID
    except RunFolderBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except Interrupted as interrupted:
        left = "; predictions still running were left running" if interrupted.leave_running else ""
        print(
            f"interrupted: state saved{left}; resume with\n  python -m replicate_batch {args.spec} "
            f"--resume {interrupted.summary.run_dir}",
            file=sys.stderr,
        )
        if interrupted.leave_running:  # a second Ctrl-C: don't wait for worker threads
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted before any prediction was created", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return summary.exit_code
