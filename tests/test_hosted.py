"""End to end on the hosted path: the real runner and the real `replicate` client against the emulator."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from replicate_batch import load_results, run_batch
from replicate_batch.backends.replicate_api import POLL_CONNECTIONS
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from replicate_batch.runfolder.results import COLUMNS
from tests.clocks import FakeClock
from tests.emulated import SCALE, TOKEN, run_scaled
from tests.emulator_models import fake_png
from tests.replicate_emulator import Emulator, Fault, ModelDef


def run(spec: dict[str, Any], tmp_path: Path, **options: Any) -> tuple[Any, pd.DataFrame]:
    """Run a spec in-process with scaled time; returns the summary and results.csv as a DataFrame."""
    spec = {"retry": {"initial_wait": 0.5, "max_wait": 2}, **spec}
    summary = run_scaled(spec, tmp_path / "runs", **options)
    return summary, load_results(summary.run_dir)


def one(df: pd.DataFrame) -> pd.Series:
    assert len(df) == 1, df
    return df.iloc[0]


def creates(emu: Emulator) -> int:
    return emu.count("create")


def test_text_output_with_the_version_pinned_once(emu: Emulator, tmp_path: Path) -> None:
    summary, df = run(
        {"models": ["acme/echo"], "inputs": [{"id": "a", "prompt": "hi", "repeat": 2}]}, tmp_path
    )
    row = one(df)
    assert summary.exit_code == 0
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    # Every prediction reports `total_time` beside `predict_time` (which has its own column).
    assert list(df.columns[len(COLUMNS) :]) == ["metric.total_time", "input.prompt", "input.repeat"]
    assert (row.status, row.output, row.attempts, row.model, row.row_id) == (
        "succeeded",
        "hi hi",
        1,
        "echo",
        "a",
    )
    version = emu.predictions[row.prediction_id].version
    assert row.version == version and row.model_ref == "acme/echo"
    assert row.predict_time > 0 and row.wall_time > 0
    assert emu.count("model") == 1
    # Finished within the sync wait: one create, no polls.
    assert (creates(emu), emu.count("get")) == (1, 0)
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["models"][0]["version"] == emu.predictions[row.prediction_id].model_def.version_id
    assert manifest["counts"] == {"succeeded": 1}


def test_streamed_text_is_joined(emu: Emulator, tmp_path: Path) -> None:
    _, df = run({"models": ["acme/llm"], "inputs": [{"prompt": "the quick brown fox"}]}, tmp_path)
    assert one(df).output == "the quick brown fox"


def test_json_output_is_written_as_json(emu: Emulator, tmp_path: Path) -> None:
    _, df = run({"models": ["acme/json"], "inputs": [{"text": "a b c"}]}, tmp_path)
    assert json.loads(one(df).output) == {"text": "a b c", "words": 3, "characters": 5, "upper": "A B C"}


def test_file_outputs_are_downloaded_byte_exact(emu: Emulator, tmp_path: Path) -> None:
    spec = {
        "models": [{"ref": "acme/imagegen", "input": {"num_outputs": 3, "scheduler": "DDIM"}}],
        "inputs": [{"id": "cat", "prompt": "a cat"}],
        "matrix": {"seed": [7, 8]},
    }
    summary, df = run(spec, tmp_path)
    assert list(df.status) == ["succeeded", "succeeded"]
    for _, row in df.iterrows():
        assert row.output == ""
        assert len(row.files) == 3
        seed = int(row["input.seed"])
        for index, relative in enumerate(row.files):
            assert relative.startswith("files/imagegen/cat/")
            assert f"seed-{seed}" in relative
            assert (summary.run_dir / relative).read_bytes() == fake_png("a cat", seed, index, "DDIM")


def test_files_inside_json_are_replaced_by_their_local_paths(emu: Emulator, tmp_path: Path) -> None:
    summary, df = run({"models": ["acme/mixed"], "inputs": [{"prompt": "dog", "seed": 3}]}, tmp_path)
    row = one(df)
    output = json.loads(row.output)
    assert output == {"caption": "a picture of dog", "image": row.files[0]}
    assert (summary.run_dir / row.files[0]).read_bytes() == fake_png("dog", 3)


def test_a_local_file_reaches_the_model_intact_and_is_uploaded_once(emu: Emulator, tmp_path: Path) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 40)
    spec = {
        "models": ["acme/vision"],
        "repeat": 2,
        "inputs": [{"id": "one", "image": str(image), "prompt": "A"}, {"id": "two", "image": str(image)}],
    }
    _, df = run(spec, tmp_path)
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert len(df) == 4 and set(df.status) == {"succeeded"}
    assert all(f"{image.stat().st_size} bytes with sha256 {digest}" in text for text in df.output)
    assert set(df["input.image"]) == {str(image)}  # the CSV shows the path, never the bytes
    assert emu.count("upload") == 1


def test_a_spec_relative_path_is_a_file_and_a_url_passes_through(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.png").write_bytes(b"png bytes")
    data_url = "data:text/plain;base64,aGVsbG8="
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        yaml.safe_dump(
            {
                "models": ["acme/vision"],
                "inputs": [{"id": "rel", "image": "data/x.png"}, {"id": "url", "image": data_url}],
            }
        )
    )
    summary = run_batch(spec_file, output_dir=tmp_path / "runs", clock=Clock(SCALE), quiet=True)
    df = load_results(summary.run_dir).set_index("row_id")
    assert "9 bytes" in df.loc["rel", "output"]
    assert "5 bytes" in df.loc["url", "output"]
    sent = [p.input["image"] for p in emu.predictions.values()]
    assert data_url in sent and emu.count("upload") == 1


def test_local_files_in_a_list_are_uploaded_once_each_and_sent_in_order(
    emu: Emulator, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(b"\x89PNG first" * 50)
    second.write_bytes(b"\xff\xd8\xff second" * 70)
    emu.uploads["given"] = b"already online"  # a URL the model can read, not uploaded by the run
    url = f"{emu.base_url}/v1/files/given"
    spec = {
        "models": ["acme/collage"],
        "inputs": [
            {"id": "abc", "images": [str(first), url, str(second)]},
            {"id": "ba", "images": [str(second), str(first)]},
        ],
    }
    _, df = run(spec, tmp_path)
    assert list(df.status) == ["succeeded", "succeeded"]
    assert emu.count("upload") == 2  # each distinct file once, however many rows list it
    abc = next(p.input["images"] for p in emu.predictions.values() if len(p.input["images"]) == 3)
    ba = next(p.input["images"] for p in emu.predictions.values() if len(p.input["images"]) == 2)
    uploaded = f"{emu.base_url}/v1/files/"
    assert abc[1] == url and abc[0].startswith(uploaded) and abc[2].startswith(uploaded)
    assert ba == [abc[2], abc[0]]  # the same upload URLs, in the row's order
    assert [emu.read_url(value) for value in abc] == [
        first.read_bytes(),
        b"already online",
        second.read_bytes(),
    ]
    assert json.loads(df.set_index("row_id").loc["abc", "input.images"]) == [str(first), url, str(second)]


def test_throttled_creates_are_waited_out_and_not_counted(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("create", status=429, retry_after=2, times=2))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "x"}]}, tmp_path)
    row = one(df)
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert creates(emu) == 3


def test_a_server_error_on_create_is_retried_and_counted(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("create", status=503))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "x"}]}, tmp_path)
    assert (one(df).status, one(df).attempts) == ("succeeded", 2)
    assert creates(emu) == 2 and len(emu.predictions) == 1


def test_a_lost_create_response_is_looked_up_not_created_again(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(
        Fault("create", drop=True, after=True, match=lambda body: body["input"]["prompt"] == "lost")
    )
    spec = {"models": ["acme/echo"], "inputs": [{"prompt": "lost"}, {"prompt": "fine"}]}
    _, df = run(spec, tmp_path)
    assert set(df.status) == {"succeeded"}
    assert emu.creates_with({"prompt": "lost"}) == 1
    assert len(emu.predictions) == 2
    assert emu.count("list") >= 1
    lost = df.set_index("input.prompt").loc["lost"]
    assert lost.prediction_id in emu.predictions and lost.output == "lost"


def test_a_create_made_but_answered_with_a_server_error_is_adopted_not_paid_twice(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.add_fault(Fault("create", status=502, after=True))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "made"}]}, tmp_path)
    row = one(df)
    assert (row.status, row.output) == ("succeeded", "made")
    assert emu.creates_with({"prompt": "made"}) == 1 and len(emu.predictions) == 1
    assert row.prediction_id in emu.predictions


def test_a_create_refused_with_a_server_error_is_tried_again(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("create", status=503))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "again"}]}, tmp_path)
    assert (one(df).status, one(df).attempts) == ("succeeded", 2)
    assert len(emu.predictions) == 1


def test_a_create_dropped_before_it_was_made_is_tried_again(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("create", drop=True))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "again"}]}, tmp_path)
    assert (one(df).status, one(df).attempts) == ("succeeded", 2)
    assert emu.creates_with({"prompt": "again"}) == 2 and len(emu.predictions) == 1


def test_a_lost_create_that_cannot_be_looked_up_fails_without_creating_again(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.add_fault(Fault("create", drop=True, after=True))
    emu.add_fault(Fault("list", status=401, times=50))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "x"}]}, tmp_path)
    row = one(df)
    assert row.status == "failed"
    assert "could not be looked up" in row.error and "--resume looks again" in row.error
    assert creates(emu) == 1


def test_invalid_input_rejected_by_the_server_is_not_retried(emu: Emulator, tmp_path: Path) -> None:
    body = {"title": "Input validation failed", "detail": "- prompt: too long", "status": 422}
    emu.add_fault(Fault("create", status=422, body=body))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "x"}]}, tmp_path)
    row = one(df)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "422" in row.error and "too long" in row.error
    assert creates(emu) == 1


def test_poll_errors_are_retried_without_creating_again(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("get", status=500, times=2))
    emu.add_fault(Fault("get", drop=True))
    emu.add_fault(Fault("get", status=429))
    # Longer than the 60 s sync wait, so the runner has to poll.
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "p", "seconds": 65}]}, tmp_path)
    assert (one(df).status, one(df).output, one(df).attempts) == ("succeeded", "p", 1)
    assert creates(emu) == 1 and emu.count("get") >= 5


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("get", prediction_status="aborted"), "aborted"),
        (Fault("get", garbage=True, times=20), "cannot read"),
    ],
)
def test_unreadable_answers_are_terminal_failures(
    emu: Emulator, tmp_path: Path, fault: Fault, message: str
) -> None:
    emu.add_fault(fault)
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "p", "seconds": 65}]}, tmp_path)
    row = one(df)
    assert row.status == "failed" and message in row.error
    assert creates(emu) == 1


@pytest.mark.parametrize(("on_model_error", "tries"), [(False, 1), (True, 3)])
def test_failed_predictions_retry_only_when_asked(
    emu: Emulator, tmp_path: Path, on_model_error: bool, tries: int
) -> None:
    spec = {
        "models": ["acme/echo"],
        "inputs": [{"prompt": "x", "fail": True}],
        "retry": {"max_attempts": 3, "initial_wait": 0.1, "on_model_error": on_model_error},
    }
    summary, df = run(spec, tmp_path)
    row = one(df)
    assert (row.status, row.attempts, row.error) == ("failed", tries, "asked to fail")
    assert creates(emu) == tries and summary.exit_code == 1


def test_a_failed_download_is_retried_then_reported(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("download", status=503))
    emu.add_fault(Fault("download", status=404, times=50, match=lambda r: r["path"].endswith("out-1.png")))
    spec = {"models": [{"ref": "acme/imagegen", "input": {"num_outputs": 2}}], "inputs": [{"prompt": "p"}]}
    summary, df = run(spec, tmp_path)
    row = one(df)
    assert row.status == "failed"
    assert "output file 2 of 2 could not be downloaded" in row.error and "404" in row.error
    assert len(row.files) == 1 and (summary.run_dir / row.files[0]).is_file()
    assert creates(emu) == 1


def test_a_download_cut_short_is_retried_and_leaves_no_part_file(emu: Emulator, tmp_path: Path) -> None:
    # The server sends the headers and half the body, then closes: requests raises ChunkedEncodingError
    # while the body streams, which must be retried like any broken connection, not end the run.
    emu.add_fault(Fault("download", truncate=True, times=2))
    spec = {"models": [{"ref": "acme/imagegen", "input": {"num_outputs": 1}}], "inputs": [{"prompt": "p"}]}
    summary, df = run(spec, tmp_path)
    row = one(df)
    assert row.status == "succeeded"
    served = emu.output_files[(row.prediction_id, "out-0.png")]
    assert served.startswith(b"\x89PNG") and (summary.run_dir / row.files[0]).read_bytes() == served
    assert emu.count("download") == 3 and creates(emu) == 1
    assert not list((summary.run_dir / "files").rglob("*.part"))


def test_a_download_cut_short_every_time_fails_the_row_and_leaves_no_part_file(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.add_fault(Fault("download", truncate=True, times=50))
    spec = {
        "models": [{"ref": "acme/imagegen", "input": {"num_outputs": 1}}],
        "inputs": [{"prompt": "p"}, {"prompt": "q"}],
        "retry": {"max_attempts": 2, "initial_wait": 0.5, "max_wait": 2},
    }
    summary, df = run(spec, tmp_path)
    assert list(df.status) == ["failed", "failed"] and summary.exit_code == 1
    assert all("could not be downloaded" in error for error in df.error)
    assert not list((summary.run_dir / "files").rglob("*.part"))


def test_a_prediction_past_its_timeout_is_canceled(emu: Emulator, tmp_path: Path) -> None:
    spec = {"models": ["acme/echo"], "timeout": 3, "inputs": [{"prompt": "slow", "seconds": 30}]}
    _, df = run(spec, tmp_path)
    row = one(df)
    assert row.status == "canceled" and "timed out after 3s" in row.error
    assert emu.cancels == [row.prediction_id]
    # The server-side backstop, in case the runner dies: a little after the runner's own deadline.
    assert emu.predictions[row.prediction_id].cancel_after == "13s"


def test_processing_in_a_sync_answer_is_polled_to_the_end(emu: Emulator, tmp_path: Path) -> None:
    emu.add_model(
        ModelDef(
            owner="acme",
            name="quirky",
            input_schema={"required": ["prompt"], "properties": {"prompt": {"type": "string"}}},
            output_schema={"type": "string"},
            predict=lambda inputs, ctx: inputs["prompt"].upper(),
            sync_reports_processing=True,
        )
    )
    _, df = run({"models": ["acme/quirky"], "inputs": [{"prompt": "abc"}]}, tmp_path)
    assert (one(df).status, one(df).output) == ("succeeded", "ABC")
    assert emu.count("get") >= 1


def test_an_official_model_that_refuses_versions_runs_on_its_model_endpoint(
    emu: Emulator, tmp_path: Path
) -> None:
    invalid = {"title": "Invalid version or not permitted", "detail": "version", "status": 422}
    emu.add_fault(Fault("create", status=422, body=invalid, times=100, match=lambda body: "version" in body))
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "x"}, {"prompt": "y"}]}, tmp_path)
    assert set(df.status) == {"succeeded"} and set(df.attempts) == {1}
    assert set(df.version) == {next(iter(emu.predictions.values())).version}
    assert all(v.startswith("dp-") for v in df.version)
    assert emu.count("create", match=lambda body: "version" not in body) == 2


def write_spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump({"retry": {"initial_wait": 0.01}, **spec}))
    return path


def test_a_mixed_batch_exits_1_with_every_row_written(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "models": ["acme/echo"],
            "inputs": [{"prompt": "a"}, {"prompt": "b", "fail": True}, {"prompt": "c"}],
            "output_dir": str(tmp_path / "runs"),
        },
    )
    assert main([str(spec), "--quiet"]) == 1
    df = load_results(tmp_path / "runs")
    assert sorted(df.status) == ["failed", "succeeded", "succeeded"]
    assert list(df.row_id.sort_values()) == ["1", "2", "3"]
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    for path in (tmp_path / "runs").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_bad_spec_exits_2_naming_the_place_and_creates_nothing(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, {"models": [{"ref": "flux"}], "inputs": [{"prompt": "a"}], "concurency": 3})
    assert main([str(spec)]) == 2
    err = capsys.readouterr().err
    assert f'{spec}: models[0].ref: expected "owner/name[:version]"' in err
    assert "unknown key `concurency` (did you mean `concurrency`?)" in err
    assert emu.requests == []


def test_a_missing_token_exits_2_before_any_request(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    spec = write_spec(tmp_path, {"models": ["acme/echo"], "inputs": [{"prompt": "a"}]})
    assert main([str(spec)]) == 2
    err = capsys.readouterr().err
    assert "REPLICATE_API_TOKEN: not set" in err and "export REPLICATE_API_TOKEN=r8_" in err
    assert emu.requests == []


def test_a_rejected_token_exits_2_without_creating(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong")
    spec = write_spec(tmp_path, {"models": ["acme/echo"], "inputs": [{"prompt": "a"}]})
    assert main([str(spec)]) == 2
    err = capsys.readouterr().err
    assert "rejected the token" in err and "r8_wrong" not in err
    assert creates(emu) == 0


@pytest.mark.parametrize(
    ("body", "headers", "wait_s"),
    [
        ({"detail": "Request was throttled.", "status": 429, "retry_after": 7}, {}, 7.0),
        ({"detail": "Request was throttled."}, {"Retry-After": "5"}, 5.0),
        ({"detail": "Request was throttled. Your rate limit resets in ~12s."}, {}, 12.0),
    ],
)
def test_the_wait_a_429_asks_for_is_honoured(
    emu: Emulator, tmp_path: Path, body: dict[str, Any], headers: dict[str, str], wait_s: float
) -> None:
    emu.add_fault(Fault("create", status=429, body=body, headers=headers))
    clock = FakeClock()
    summary = run_batch(
        {"models": ["acme/echo"], "inputs": [{"prompt": "x"}]},
        output_dir=tmp_path / "runs",
        clock=clock,
        quiet=True,
    )
    assert summary.exit_code == 0
    assert wait_s in clock.sleeps
    assert one(load_results(summary.run_dir)).attempts == 1


def test_polls_and_cancels_go_through_a_small_pool_of_their_own(emu: Emulator, tmp_path: Path) -> None:
    # 20 predictions outlive the 60 s sync wait and are polled; 4 more outlive the timeout and are canceled.
    rows = [{"prompt": f"p{i}", "seconds": 65 if i < 20 else 400} for i in range(24)]
    _, df = run({"models": ["acme/echo"], "timeout": 150, "inputs": rows}, tmp_path, concurrency=24)
    assert sorted(df.status.value_counts().items()) == [("canceled", 4), ("succeeded", 20)]

    def peers(endpoint: str) -> set[str]:
        return {r.peer for r in emu.requests if r.endpoint == endpoint}

    polls_and_cancels = peers("get") | peers("cancel")
    assert peers("get") and peers("cancel") and peers("create")
    assert not polls_and_cancels & peers("create")
    assert len(polls_and_cancels) <= POLL_CONNECTIONS < 24


def test_a_throttled_poll_is_waited_out_on_the_runners_clock(emu: Emulator, tmp_path: Path) -> None:
    # The client itself would sleep out Retry-After in real time (uncapped) before we ever saw the 429.
    emu.add_fault(Fault("get", status=429, headers={"Retry-After": "120"}, times=2))
    started = time.monotonic()
    _, df = run({"models": ["acme/echo"], "inputs": [{"prompt": "p", "seconds": 65}]}, tmp_path)
    assert time.monotonic() - started < 60
    assert (one(df).status, one(df).attempts) == ("succeeded", 1)
    assert creates(emu) == 1 and emu.count("get") >= 3
