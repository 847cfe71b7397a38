"""The Replicate emulator wired to the runner: a server, its models, and the environment pointing at it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from replicate_batch import RunSummary, run_batch
from replicate_batch.clock import Clock
from tests.emulator_models import install_standard_models
from tests.replicate_emulator import Emulator, ModelDef

TOKEN = "r8_test_token_never_written"
SCALE = 0.01  # emulator model time and the runner's clock both run 100x faster than real time


@contextmanager
def emulated(*models: ModelDef, standard: bool = True) -> Iterator[Emulator]:
    """Start an emulator with the standard catalogue (and `models`), and point the runner at it."""
    with Emulator(token=TOKEN, time_scale=SCALE) as emulator, pytest.MonkeyPatch.context() as patch:
        if standard:
            install_standard_models(emulator)
        for model in models:
            emulator.add_model(model)
        patch.setenv("REPLICATE_API_TOKEN", TOKEN)
        patch.setenv("REPLICATE_BASE_URL", emulator.base_url)
        yield emulator


def run_scaled(spec: Any, output_dir: Path, **options: Any) -> RunSummary:
    """`run_batch` on the emulator's scaled clock, with what it prints swallowed."""
    return run_batch(
        spec,
        output_dir=output_dir,
        clock=Clock(time_scale=SCALE),
        stderr=io.StringIO(),
        **options,
    )
