"""`--junit FILE` of a run and of `rescore`: its folder checked before anything runs, the file after."""

from __future__ import annotations

import sys
from pathlib import Path

from ..reports.junit import run_junit, write_junit
from .terminal import say


def junit_target_ok(target: Path) -> bool:
    """Whether `--junit` names a file that can be written (its folder made); says why not."""
    try:
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        say(f"error: --junit {target}: {error}", sys.stderr)
        return False
    return True


def write_run_junit(run_dir: Path, target: Path) -> None:
    """Write a run folder's JUnit XML to `target`; a failure is an error message, not a crash."""
    try:
        say(f"junit: {write_junit(run_junit(run_dir), target)}", sys.stderr)
    except OSError as error:
        say(f"error: could not write the JUnit file {target}: {error}", sys.stderr)
