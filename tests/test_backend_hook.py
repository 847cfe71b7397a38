"""`run_batch(backends=...)`: the runner drives any Backend, here an in-process double."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from replicate_batch import load_results, run_batch
from tests.doubles import InstantBackend, instant_backends


def _rows(path: Path, prompts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt"])
        writer.writerows([f"r{i}", prompt] for i, prompt in enumerate(prompts))
    return path


def test_a_double_runs_every_job_once_with_bounded_concurrency(tmp_path: Path) -> None:
    prompts = [f"prompt {i}" for i in range(300)]
    made: list[InstantBackend] = []
    spec = {
        "models": [{"ref": "acme/one"}, {"ref": "acme/two"}],
        "inputs": str(_rows(tmp_path / "rows.csv", prompts)),
        "matrix": {"seed": [1, 2]},
        "rate_limit": 1_000_000,
    }
    summary = run_batch(
        spec,
        output_dir=tmp_path / "out",
        concurrency=6,
        quiet=True,
        backends=instant_backends(made),
    )
    assert summary.exit_code == 0
    assert summary.counts == {"succeeded": 1200}
    assert [b.creates for b in made] == [600, 600]
    assert max(b.most_at_once for b in made) <= 6
    assert all(b.stopped for b in made)
    assert summary.run_dir is not None
    results = load_results(summary.run_dir)
    assert len(results) == 1200 and results["job_id"].is_unique
    assert set(results["output"]) == {f"echo: {p}" for p in prompts}
    assert set(results["model_ref"]) == {"acme/one", "acme/two"}


def test_failed_predictions_from_a_double_are_rows_and_exit_1(tmp_path: Path) -> None:
    spec = {
        "models": [{"ref": "acme/one"}],
        "inputs": str(_rows(tmp_path / "rows.csv", ["fine", "please fail", "fine too"])),
    }
    summary = run_batch(spec, output_dir=tmp_path / "out", quiet=True, backends=instant_backends())
    assert summary.exit_code == 1
    assert summary.counts == {"succeeded": 2, "failed": 1}
    assert summary.run_dir is not None
    failed = load_results(summary.run_dir).query("status == 'failed'")
    assert list(failed["error"]) == ["the double was asked to fail"]


def test_a_factory_that_builds_the_wrong_number_of_backends_is_refused(tmp_path: Path) -> None:
    made: list[InstantBackend] = []
    spec = {"models": [{"ref": "acme/one"}], "inputs": str(_rows(tmp_path / "rows.csv", ["x"]))}

    def two_backends(loaded: object, *, concurrency: int, clock: object) -> list[InstantBackend]:
        made.extend([InstantBackend(), InstantBackend()])
        return made

    with pytest.raises(ValueError, match="built 2 backends for 1 models"):
        run_batch(spec, output_dir=tmp_path / "out", quiet=True, backends=two_backends)  # type: ignore[arg-type]
    assert all(b.stopped for b in made)
    assert not (tmp_path / "out").exists()
