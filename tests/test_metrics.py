"""Every number a prediction reports in `metrics` is a `metric.<name>` column, summed up per model."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from replicate_batch import load_results, run_batch
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from replicate_batch.runfolder.journal import read_journal
from replicate_batch.runfolder.results import COLUMNS
from tests.emulated import SCALE, run_scaled
from tests.replicate_emulator import Emulator, Fault

# What the `chatty` model reports besides what the emulator measures: an exact time to first token
# and predict time (so tokens_per_second is exact too), a number of its own, and values that are
# not numbers (never columns).
CHATTY_METRICS = {
    "predict_time": 2.0,
    "time_to_first_token": 0.25,
    "total_time": 2.5,
    "batch_size": 4,
    "cached": True,
    "note": "warm",
}
TOKEN_METRICS = [
    "metric.batch_size",
    "metric.input_token_count",
    "metric.output_token_count",
    "metric.time_to_first_token",
    "metric.tokens_per_second",
    "metric.total_time",
]


@pytest.fixture
def models(emu: Emulator) -> Emulator:
    """`acme/chatty`, a language model with fixed metrics; `acme/quiet`, which reports only predict_time."""
    llm, structured = emu.models["acme/llm"], emu.models["acme/json"]
    emu.add_model(dataclasses.replace(llm, name="chatty", version_id=None, metrics=CHATTY_METRICS))
    emu.add_model(
        dataclasses.replace(structured, name="quiet", version_id=None, metrics={"total_time": None})
    )
    return emu


def header_and_rows(run_dir: Path) -> tuple[list[str], list[list[str]]]:
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_every_number_reported_is_a_column_between_the_contract_and_the_inputs(
    models: Emulator, tmp_path: Path
) -> None:
    spec = {
        "models": ["acme/chatty", {"ref": "acme/imagegen", "input": {"num_outputs": 2}}],
        "inputs": [{"id": "a", "prompt": "one two three", "_gold": "x"}],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.exit_code == 0
    header, _ = header_and_rows(summary.run_dir)
    assert header[: len(COLUMNS)] == list(COLUMNS)
    # Sorted by name; `predict_time` keeps its own column; `cached` and `note` are not numbers.
    assert header[len(COLUMNS) :] == [
        "metric.batch_size",
        "metric.image_count",
        "metric.input_token_count",
        "metric.output_token_count",
        "metric.time_to_first_token",
        "metric.tokens_per_second",
        "metric.total_time",
        "input.prompt",
        "input.num_outputs",
        "_gold",
    ]
    df = load_results(summary.run_dir).set_index("model")
    for column in (c for c in df.columns if c.startswith("metric.")):
        assert pd.api.types.is_numeric_dtype(df[column]), column
    chatty, image = df.loc["chatty"], df.loc["imagegen"]
    # The prompt's 3 words and the default system prompt's 5 are the input tokens (a word is a token).
    assert chatty[TOKEN_METRICS].to_dict() == {
        "metric.batch_size": 4,
        "metric.input_token_count": 8,
        "metric.output_token_count": 3,
        "metric.time_to_first_token": 0.25,
        "metric.tokens_per_second": 1.5,
        "metric.total_time": 2.5,
    }
    assert chatty.predict_time == 2.0 and pd.isna(chatty["metric.image_count"])
    reported = models.predictions[image.prediction_id].model_metrics
    assert image["metric.image_count"] == reported["image_count"] == 2
    assert (
        image["metric.total_time"] == reported["total_time"]
        and image.predict_time == reported["predict_time"]
    )
    assert image[TOKEN_METRICS[:-1]].isna().all()  # empty where a prediction did not report it


def test_the_header_grows_when_a_later_prediction_reports_new_metrics(
    models: Emulator, tmp_path: Path
) -> None:
    # One at a time, model by model: `quiet`'s rows are written before anything reports a metric.
    spec = {
        "concurrency": 1,
        "models": ["acme/quiet", "acme/chatty"],
        "inputs": [
            {"id": "a", "text": "x y", "prompt": "one two"},
            {"id": "b", "text": "z", "prompt": "three"},
        ],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.exit_code == 0
    header, rows = header_and_rows(summary.run_dir)
    assert header == [*COLUMNS, *TOKEN_METRICS, "input.text", "input.prompt"]
    assert all(len(row) == len(header) for row in rows)
    records = [dict(zip(header, row)) for row in rows]
    assert [(r["model"], r["row_id"]) for r in records] == [
        ("quiet", "a"),
        ("quiet", "b"),
        ("chatty", "a"),
        ("chatty", "b"),
    ]
    for record in records[:2]:  # written before the columns existed: empty there, the rest in place
        assert [record[c] for c in TOKEN_METRICS] == [""] * len(TOKEN_METRICS)
        assert (record["input.text"], record["input.prompt"]) == (
            {"a": "x y", "b": "z"}[record["row_id"]],
            "",
        )
        assert float(record["predict_time"]) > 0
    assert [r["metric.output_token_count"] for r in records[2:]] == ["2", "1"]
    assert [r["input.prompt"] for r in records[2:]] == ["one two", "three"]
    assert not (summary.run_dir / "results.csv.part").exists()


def test_the_summary_and_the_report_show_tokens_and_time_to_first_token(
    models: Emulator, tmp_path: Path
) -> None:
    spec = {
        "models": ["acme/quiet", "acme/chatty"],
        "inputs": [{"text": "x", "prompt": "one two three"}, {"text": "y", "prompt": "four five"}],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    lines = summary.table.splitlines()
    assert lines[0].split() == [
        "model",
        "jobs",
        "succeeded",
        "failed",
        "canceled",
        "median_s",
        "predict_s",
        "in_tokens",
        "out_tokens",
        "first_token_s",
    ]
    # Input tokens: each prompt's words and the system prompt's 5; output tokens: the prompt's words.
    assert lines[1].split()[-3:] == ["-", "-", "-"]  # quiet reports none of them
    assert lines[2].split()[0] == "chatty" and lines[2].split()[-3:] == ["15", "5", "0.25"]
    assert lines[3].split()[0] == "total" and lines[3].split()[-3:] == ["15", "5", "0.25"]

    page = (summary.run_dir / "report.html").read_text(encoding="utf-8")
    assert (
        "<th class=''>input tokens</th><th class=''>output tokens</th><th class=''>median first token s</th>"
        in page
    )
    assert "<td>15</td><td>5</td><td>0.25</td></tr>" in page
    assert "<td>–</td><td>–</td><td>–</td></tr>" in page


def test_a_run_without_token_metrics_shows_no_token_columns(emu: Emulator, tmp_path: Path) -> None:
    summary = run_scaled({"models": ["acme/json"], "inputs": [{"text": "a"}]}, tmp_path / "runs")
    assert "tokens" not in summary.table and "first_token" not in summary.table
    assert "tokens" not in (summary.run_dir / "report.html").read_text(encoding="utf-8")
    header, _ = header_and_rows(summary.run_dir)
    assert [c for c in header if c.startswith("metric.")] == ["metric.total_time"]


def test_resume_keeps_the_metrics_of_the_results_it_keeps(models: Emulator, tmp_path: Path) -> None:
    models.add_fault(Fault("create", status=422, match=lambda body: body["input"]["prompt"] == "b"))
    path = tmp_path / "eval.yaml"
    spec = {"models": ["acme/chatty"], "inputs": [{"id": "a", "prompt": "a"}, {"id": "b", "prompt": "b"}]}
    path.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "runs"), **spec}))
    first = run_batch(path, clock=Clock(SCALE), stderr=io.StringIO())
    assert first.exit_code == 1 and first.run_dir is not None
    kept = load_results(first.run_dir).set_index("row_id").loc["a"]

    again = run_batch(path, resume=first.run_dir, clock=Clock(SCALE), stderr=io.StringIO())
    assert again.exit_code == 0
    header, _ = header_and_rows(first.run_dir)
    assert header == [*COLUMNS, *TOKEN_METRICS, "input.prompt"]
    df = load_results(first.run_dir).set_index("row_id")
    assert df.prediction_id["a"] == kept.prediction_id  # kept, not run again
    for row_id in ("a", "b"):
        reported = models.predictions[df.prediction_id[row_id]].model_metrics
        assert df.loc[row_id, "metric.output_token_count"] == reported["output_token_count"] == 1
        assert df.loc[row_id, "metric.time_to_first_token"] == 0.25
    journaled = read_journal(first.run_dir).results
    assert {r.row_id: r.metrics["batch_size"] for r in journaled.values()} == {"a": 4, "b": 4}


def test_shards_whose_metric_columns_differ_merge_into_one_run(
    models: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "sweep.yaml"
    spec = {
        "name": "sweep",
        "models": ["acme/chatty"],
        "inputs": [{"id": f"r{i}", "prompt": f"p{i}"} for i in range(8)],
    }
    spec_path.write_text(yaml.safe_dump(spec))
    refused = models.add_fault(Fault("create", status=422, times=100))  # shard 1: nothing reports metrics
    assert main([str(spec_path), "--shard", "1/2", "--output-dir", str(tmp_path / "one"), "--quiet"]) == 1
    models.remove_fault(refused)
    assert main([str(spec_path), "--shard", "2/2", "--output-dir", str(tmp_path / "two"), "--quiet"]) == 0
    shards = [next((tmp_path / name).iterdir()) for name in ("one", "two")]
    assert [c for c in header_and_rows(shards[0])[0] if c.startswith("metric.")] == []

    merged = tmp_path / "merged"
    # merged, and the exit status a run of the whole sweep would have: shard 1's creates failed
    assert main(["merge", *map(str, shards), "--into", str(merged)]) == 1, capsys.readouterr().err
    header, _ = header_and_rows(merged)
    assert header == [*COLUMNS, *TOKEN_METRICS, "input.prompt"]
    df = load_results(merged)
    assert len(df) == 8
    succeeded = df[df.status == "succeeded"]
    assert 0 < len(succeeded) < 8 and (succeeded["metric.batch_size"] == 4).all()
    assert df[df.status == "failed"]["metric.batch_size"].isna().all()


def test_load_results_stacks_runs_with_different_metric_columns(models: Emulator, tmp_path: Path) -> None:
    run_scaled({"models": ["acme/quiet"], "inputs": [{"text": "x"}]}, tmp_path / "runs")
    run_scaled({"models": ["acme/chatty"], "inputs": [{"prompt": "x"}]}, tmp_path / "runs")
    df = load_results(tmp_path / "runs").set_index("model")
    assert pd.isna(df.loc["quiet", "metric.output_token_count"])
    assert df.loc["chatty", "metric.output_token_count"] == 1
    assert pd.api.types.is_numeric_dtype(df["metric.output_token_count"])
