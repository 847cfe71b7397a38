"""An output over the csv module's 128 KiB cell limit (a long LLM answer) is read back everywhere.

Two real runs against the emulator, with a model whose answers are 200 KiB of text; then the report,
`compare` and `merge` on them, and `load_results`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from replicate_batch import load_results, run_batch
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from replicate_batch.reports.records import load_run
from tests.emulated import SCALE, emulated
from tests.emulator_models import prop
from tests.replicate_emulator import ModelDef, PredictContext

ANSWER_CHARS = 200 * 1024


def _ramble(inputs: dict[str, Any], ctx: PredictContext) -> str:
    words = f"{inputs['prompt']} "
    return (words * (ANSWER_CHARS // len(words) + 1))[:ANSWER_CHARS]


RAMBLER = ModelDef(
    owner="acme",
    name="rambler",
    input_schema={"required": ["prompt"], "properties": {"prompt": prop("prompt", 0, "string", "Topic")}},
    output_schema={"type": "string"},
    predict=_ramble,
    duration_s=0.2,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """Two runs of a spec whose answers are 200 KiB each (row `a` answers differently in B); A's stderr."""
    base = tmp_path_factory.mktemp("big")
    found = []
    printed = []
    with emulated(RAMBLER):
        for name, topic in (("a", "cats"), ("b", "dogs")):
            spec = {
                "name": "long",
                "models": ["acme/rambler"],
                "inputs": [{"id": "a", "prompt": topic}, {"id": "b", "prompt": "birds"}],
            }
            spec_path = base / f"{name}.yaml"
            spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
            stderr = io.StringIO()
            summary = run_batch(
                spec_path,
                output_dir=base / name,
                clock=Clock(time_scale=SCALE),
                stderr=stderr,
            )
            assert summary.exit_code == 0 and summary.run_dir is not None, stderr.getvalue()
            found.append(summary.run_dir)
            printed.append(stderr.getvalue())
    yield found[0], found[1], printed[0]


def test_the_run_writes_its_report_and_results_hold_the_whole_answer(runs: tuple[Path, Path, str]) -> None:
    run_a, _, printed = runs
    assert "was not written" not in printed
    assert (run_a / "report.html").is_file()
    outputs = {record["row_id"]: record["output"] for record in load_run(run_a).results}
    assert len(outputs["a"]) == ANSWER_CHARS and outputs["a"].startswith("cats cats")
    df = load_results(run_a)
    assert sorted(len(text) for text in df.output) == [ANSWER_CHARS, ANSWER_CHARS]


def test_report_command_reads_big_cells(
    runs: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run_a, _, _ = runs
    (run_a / "report.html").unlink(missing_ok=True)
    assert main(["report", str(run_a)]) == 0
    assert (run_a / "report.html").stat().st_size > ANSWER_CHARS  # the answers are in it
    assert capsys.readouterr().err == ""


def test_compare_reads_big_cells(runs: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    run_a, run_b, _ = runs
    assert main(["compare", str(run_a), str(run_b)]) == 0  # changed outputs, no new failures
    out = capsys.readouterr().out
    assert "outputs changed (1):\n  rambler · a\n" in out
    assert (run_b / "compare.html").is_file()


def test_merge_reads_big_cells(runs: tuple[Path, Path, str], tmp_path: Path) -> None:
    run_a, _, _ = runs
    merged = tmp_path / "merged"
    assert main(["merge", str(run_a), "--into", str(merged)]) == 0
    assert [len(record["output"]) for record in load_run(merged).results] == [ANSWER_CHARS] * 2
    assert (merged / "report.html").is_file()
