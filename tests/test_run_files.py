"""Every job its own files under files/, every name bounded, and a worker's surprise fails one job only."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

from replicate_batch import load_results, run_batch
from replicate_batch.backends.base import OnCreated, Prediction
from replicate_batch.execution.outputs import MAX_NAME_BYTES
from replicate_batch.spec.loading import LoadedSpec
from tests.doubles import InstantBackend
from tests.emulated import emulated, run_scaled
from tests.emulator_models import fake_png, standard_models
from tests.replicate_emulator import Emulator, PredictContext

EXAMPLE_MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
LONG_ID = "row " + "x" * 300
LONG_PROMPT = "a very long prompt, " * 16  # 320 characters


def imagegen_run(
    emu: Emulator, tmp_path: Path, row_ids: list[str], prompts: list[str], name: str = "imagegen"
) -> pd.DataFrame:
    """Every row (seed = its position) with every prompt, two images each; all must succeed."""
    spec = {
        "models": [{"ref": "acme/imagegen", "name": name, "input": {"num_outputs": 2, "scheduler": "DDIM"}}],
        "inputs": [{"id": row_id, "seed": seed} for seed, row_id in enumerate(row_ids)],
        "matrix": {"prompt": prompts},
        "concurrency": 16,
        "retry": {"initial_wait": 0.5, "max_wait": 2},
    }
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.run_dir is not None
    df = load_results(summary.run_dir)
    assert summary.exit_code == 0, df.error.tolist()
    assert len(df) == len(row_ids) * len(prompts) and set(df.status) == {"succeeded"}
    # Each job's files hold its own images: nothing was overwritten by another job.
    every_file: list[str] = []
    for _, row in df.iterrows():
        assert len(row.files) == 2
        for index, relative in enumerate(row.files):
            image = (summary.run_dir / relative).read_bytes()
            assert image == fake_png(row["input.prompt"], int(row["input.seed"]), index, "DDIM"), relative
            every_file.append(relative)
    assert len({name.lower() for name in every_file}) == len(every_file)  # distinct, whatever the disk
    on_disk = [p for p in (summary.run_dir / "files").rglob("*") if p.is_file()]
    assert len(on_disk) == len(every_file)
    return df


def test_row_ids_and_matrix_values_that_sanitise_alike_get_their_own_files(
    emu: Emulator, tmp_path: Path
) -> None:
    row_ids = ["a/b", "a_b", "a:b", "..", "...", "fridge"]
    df = imagegen_run(emu, tmp_path, row_ids, ["a cat/dog", "a cat:dog", "a cat_dog"])
    folders = {row.row_id: {Path(f).parent.as_posix() for f in row.files} for _, row in df.iterrows()}
    assert all(len(paths) == 1 for paths in folders.values())  # one folder per row
    assert len({min(paths) for paths in folders.values()}) == len(row_ids)
    assert folders["fridge"] == {"files/imagegen/fridge"}  # a plain id reads as itself


def test_long_row_ids_matrix_values_and_model_names_are_cut_to_bounded_unique_names(
    emu: Emulator, tmp_path: Path
) -> None:
    row_ids, prompts = [LONG_ID, LONG_ID + "!", "short"], [LONG_PROMPT, LONG_PROMPT + "."]
    df = imagegen_run(emu, tmp_path, row_ids, prompts, name="Image-" + "n" * 300)
    for files in df.files:
        for relative in files:
            assert all(len(part.encode()) <= MAX_NAME_BYTES for part in Path(relative).parts), relative
    run_dir = tmp_path / "runs" / df.run_id[0]
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "finished"
    assert (run_dir / "report.html").is_file()


def _bad_url(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    """A model whose output for `broken` is a URL that no HTTP library can parse."""
    if inputs["prompt"] == "broken":
        return ["http://[not-an-address/out.png"]
    return [ctx.file(fake_png(inputs["prompt"], 1), "out.png")]


def test_an_unexpected_error_in_a_worker_fails_that_job_and_the_run_goes_on(tmp_path: Path) -> None:
    imagegen = next(m for m in standard_models() if m.name == "imagegen")
    model = dataclasses.replace(imagegen, name="badurl", version_id=None, predict=_bad_url)
    with emulated(model) as emu:
        spec = {"models": ["acme/badurl"], "inputs": [{"prompt": "fine"}, {"prompt": "broken"}]}
        summary = run_scaled(spec, tmp_path / "runs")
        broken_id = next(p.id for p in emu.predictions.values() if p.input["prompt"] == "broken")
    assert summary.exit_code == 1 and summary.run_dir is not None
    df = load_results(summary.run_dir).set_index("input.prompt")
    assert df.loc["fine", "status"] == "succeeded"
    assert (summary.run_dir / df.loc["fine", "files"][0]).read_bytes() == fake_png("fine", 1)
    broken = df.loc["broken"]
    assert broken.status == "failed" and broken.prediction_id == broken_id
    assert "not-an-address" in broken.error or "IPv6" in broken.error, broken.error
    journal = [json.loads(line) for line in (summary.run_dir / "journal.jsonl").read_text().splitlines()]
    finished = [e["result"] for e in journal if e["event"] == "finished"]
    assert {(r["status"], r["prediction_id"]) for r in finished} >= {("failed", broken_id)}
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["counts"] == {"succeeded": 1, "failed": 1}
    assert (summary.run_dir / "report.html").is_file()


class _Escape(BaseException):
    """Not an Exception: no worker guard may swallow it, so it ends the run."""


class _EscapingBackend(InstantBackend):
    """Answers like InstantBackend, but a create for the prompt `escape` raises `_Escape`."""

    def create(self, model_input: Mapping[str, Any], on_created: OnCreated, time_left_s: float) -> Prediction:
        if model_input.get("prompt") == "escape":
            raise _Escape("the double let go")
        return super().create(model_input, on_created, time_left_s)


def test_a_run_that_crashes_is_not_marked_finished(tmp_path: Path) -> None:
    def backends(loaded: LoadedSpec, *, concurrency: int, clock: Any) -> list[Any]:
        return [_EscapingBackend(model.spec_ref()) for model in loaded.spec.models]

    spec = {"models": ["acme/one"], "inputs": [{"prompt": "fine"}, {"prompt": "escape"}]}
    with pytest.raises(_Escape):
        run_batch(spec, output_dir=tmp_path, concurrency=1, quiet=True, backends=backends)
    (run_dir,) = tmp_path.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "crashed"
    assert manifest["error"] == "_Escape: the double let go"
    assert manifest["counts"] == {"succeeded": 1}


def test_an_output_holding_a_lone_surrogate_is_recorded_not_fatal(tmp_path: Path) -> None:
    # "\ud800" is valid JSON from a server, but no UTF-8 writer can encode it as it is.
    echo = next(m for m in standard_models() if m.name == "echo")
    model = dataclasses.replace(
        echo, name="odd", version_id=None, predict=lambda i, c: f"odd \ud800 {i['prompt']}"
    )
    with emulated(model):
        spec = {"models": ["acme/odd"], "inputs": [{"prompt": "a"}, {"prompt": "b"}]}
        summary = run_scaled(spec, tmp_path / "runs")
        assert summary.exit_code == 0 and summary.run_dir is not None
        again = run_scaled(spec, tmp_path / "runs", resume=summary.run_dir)  # the journal reads back
    assert again.exit_code == 0 and again.counts == {"succeeded": 2}
    journal = [json.loads(line) for line in (summary.run_dir / "journal.jsonl").read_text().splitlines()]
    outputs = {e["result"]["output"] for e in journal if e["event"] == "finished"}
    assert outputs == {"odd \ud800 a", "odd \ud800 b"}
    assert set(load_results(summary.run_dir).output) == {"odd \\ud800 a", "odd \\ud800 b"}
    assert json.loads((summary.run_dir / "manifest.json").read_text())["status"] == "finished"
    assert (summary.run_dir / "report.html").is_file()


def drawn_by_patterns(prompt: str, seed: int, index: int, size: tuple[int, int]) -> bytes:
    """The pixels the example `patterns` model draws for one image of a job (its own drawing code)."""
    loader = importlib.util.spec_from_file_location(
        "patterns_predict", EXAMPLE_MODELS / "patterns" / "predict.py"
    )
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    rng = random.Random(f"{prompt}\x00{seed}\x00{index}")
    style = module.STYLES[rng.randrange(len(module.STYLES))]
    return bytes(module.draw(style, size, module.palette(prompt), rng).tobytes())


def test_a_real_cog_model_writes_each_jobs_images_to_its_own_files(tmp_path: Path) -> None:
    model = Path(shutil.copytree(EXAMPLE_MODELS / "patterns", tmp_path / "models" / "patterns"))
    row_ids = ["a/b", "a_b", "a:b", "..", "...", LONG_ID, "fridge"]
    spec = {
        "timeout": 20,
        "concurrency": 4,
        "models": [{"cog": str(model), "input": {"num_outputs": 2, "width": 24, "height": 16}}],
        "inputs": [{"id": row_id, "seed": seed} for seed, row_id in enumerate(row_ids)],
        "matrix": {"prompt": ["red/blue", "red:blue", LONG_PROMPT]},
    }
    summary = run_batch(spec, output_dir=tmp_path / "runs", quiet=True)
    assert summary.exit_code == 0 and summary.run_dir is not None
    df = load_results(summary.run_dir)
    assert len(df) == len(row_ids) * 3 and set(df.status) == {"succeeded"}
    files = [relative for paths in df.files for relative in paths]
    assert len(files) == 2 * len(df) and len({f.lower() for f in files}) == len(files)
    assert all(len(part.encode()) <= MAX_NAME_BYTES for f in files for part in Path(f).parts)
    for _, row in df.iterrows():  # each job's files hold the images drawn for that job
        for index, relative in enumerate(row.files):
            with Image.open(summary.run_dir / relative) as image:
                pixels = image.tobytes()
            assert pixels == drawn_by_patterns(row["input.prompt"], int(row["input.seed"]), index, (24, 16))
    fridge = df[df.row_id == "fridge"].files
    assert all(f.startswith("files/patterns/fridge/") for paths in fridge for f in paths)
