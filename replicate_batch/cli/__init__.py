"""The command line: parse arguments, call the library, turn its errors into messages and exit codes."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import stat
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from ..reports.compare import compare_runs, comparison_text
from ..reports.compare_page import write_comparison
from ..reports.page import write_report
from ..reports.records import NotARunFolder, load_run
from ..runfolder.writer import RunFolderBusy
from ..runner import EXIT_INTERRUPTED, EXIT_INVALID, Interrupted, RunStopped, run_batch
from ..sharding import merge_runs, parse_shard
from ..spec.problems import SpecError
from ..terminal import say


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicate-batch",
        description="Run a batch of model predictions described by a YAML spec.",
        epilog="other commands: `report RUN_DIR`, `compare RUN_A RUN_B [--output FILE]`, "
        "`merge RUN_DIR... --into DIR`",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m replicate_batch` and `replicate-batch`; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in SUBCOMMANDS and not Path(words[0]).is_file():  # an existing file is a spec
        return SUBCOMMANDS[words[0]](words[1:])
    args = _parser().parse_args(words)
    if args.force and not args.resume:
        say("error: --force goes with --resume RUN_DIR", sys.stderr)
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
        )
    except SpecError as error:
        for problem in error.problems:
            say(f"error: {problem}", sys.stderr)
        say("nothing was run: fix the problems above and try again", sys.stderr)
        return EXIT_INVALID
    except RunFolderBusy as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    except RunStopped as stopped:
        for problem in stopped.problems:
            say(f"error: {problem}", sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as interrupted:
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
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGHUP, previous_hup)
    return summary.exit_code


# -- subcommands: `report RUN_DIR`, `compare RUN_A RUN_B` (issue 7) ----------------------------------


def _report_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="replicate-batch report", description="Write (or rewrite) report.html in a run folder."
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.run_dir)
    except (NotARunFolder, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(f"report: {path}")
    return 0


def _compare_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="replicate-batch compare",
        description="Compare two runs of a spec, job by job; exit 1 when RUN_B has new failures.",
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run folder")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run folder")
    parser.add_argument("--output", type=Path, metavar="FILE", help="where to write compare.html")
    args = parser.parse_args(argv)
    try:
        comparison = compare_runs(load_run(args.run_a), load_run(args.run_b))
        say(comparison_text(comparison))
        say(f"compare page: {write_comparison(comparison, args.output)}")
    except (NotARunFolder, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    except Exception:  # a bug: exit 1 would read as "new failures" to a scheduled sweep
        traceback.print_exc()
        say("error: compare stopped on an internal error (above); nothing was compared", sys.stderr)
        return EXIT_INVALID
    return comparison.exit_code


SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "report": _report_command,
    "compare": _compare_command,
}


def _merge_command(argv: Sequence[str]) -> int:
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
    except (SpecError, NotARunFolder, RunFolderBusy, OSError) as error:
        say(f"error: {error}", sys.stderr)
        return EXIT_INVALID
    say(f"run folder: {merged}")
    return 0


SUBCOMMANDS["merge"] = _merge_command
