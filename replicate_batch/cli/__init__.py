"""The command line: parse arguments, call the library, turn its errors into messages and exit codes.

`replicate-batch SPEC` runs a spec (run.py); `report`, `compare`, `history`, `merge` and `rescore`
are subcommands, one module each.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .compare import compare_command
from .history import history_command
from .merge import merge_command
from .report import report_command
from .rescore import rescore_command
from .run import run_command

SUBCOMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "report": report_command,
    "compare": compare_command,
    "history": history_command,
    "merge": merge_command,
    "rescore": rescore_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m replicate_batch` and `replicate-batch`; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in SUBCOMMANDS and not Path(words[0]).is_file():  # an existing file is a spec
        return SUBCOMMANDS[words[0]](words[1:])
    return run_command(words)
