"""Real scored runs for the compare, history and JUnit tests: a spec with `scorers:` run by the runner."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from replicate_batch import run_batch
from replicate_batch.clock import Clock
from tests.doubles import instant_backends


def run_scored(spec: Mapping[str, Any], spec_dir: Path, output_dir: Path, *, double: bool = True) -> Path:
    """Run `spec` (written to `spec_dir/<name>.yaml`, its scorers' files beside it); the run folder.

    The models run on the in-process double (`echo: <prompt>`, a prompt with `fail` fails), or with
    `double` False on the runner's own backends (inside `tests.emulated.emulated()`: the emulator).
    """
    spec_path = spec_dir / f"{spec.get('name', 'spec')}.yaml"
    spec_path.write_text(yaml.safe_dump(dict(spec)), encoding="utf-8")
    summary = run_batch(
        spec_path,
        output_dir=output_dir,
        backends=instant_backends() if double else None,
        clock=Clock(time_scale=0.01),
        stderr=io.StringIO(),
    )
    assert summary.run_dir is not None
    return summary.run_dir
