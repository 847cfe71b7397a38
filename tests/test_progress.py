"""The progress line while a run goes: what it says is in flight is what is in flight."""

from __future__ import annotations

import io
import re
from pathlib import Path

from replicate_batch import run_batch
from replicate_batch.clock import Clock
from tests.emulated import SCALE
from tests.replicate_emulator import Emulator

LINE = re.compile(r"(\d+)/(\d+) done, (\d+) failed, (\d+) in flight, ")


def test_in_flight_counts_predictions_not_jobs_waiting_for_a_slot(emu: Emulator, tmp_path: Path) -> None:
    concurrency = 4
    spec = {
        "models": [{"ref": "acme/imagegen", "input": {"num_inference_steps": 1}}],
        "inputs": [{"id": f"r{i}", "prompt": f"picture {i}"} for i in range(48)],
    }
    stderr = io.StringIO()
    summary = run_batch(
        spec,
        output_dir=tmp_path,
        concurrency=concurrency,
        clock=Clock(time_scale=SCALE),
        stderr=stderr,
    )
    assert summary.exit_code == 0
    lines = [(int(m[1]), int(m[2]), int(m[4])) for m in LINE.finditer(stderr.getvalue())]
    during = [in_flight for done, total, in_flight in lines if done < total]
    assert during, stderr.getvalue()  # lines came while jobs were still queued
    # The pump keeps up to twice `concurrency` jobs queued; only `concurrency` of them can be running.
    assert max(during) <= concurrency, lines
    assert max(during) > 0, lines
    assert lines[-1] == (48, 48, 0)
