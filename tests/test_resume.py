"""Never lose a result, never pay twice: kill -9, Ctrl-C, lost creates, resume, the folder lock."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from replicate_batch import load_results, run_batch
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from replicate_batch.runfolder.journal import journal_events as read_journal_events
from replicate_batch.runfolder.results import ResultColumns
from replicate_batch.runfolder.writer import RunFolder
from tests.emulated import SCALE, emulated
from tests.emulator_models import fake_png, painter_model
from tests.replicate_emulator import UNTIL_REMOVED, Emulator, Fault

ROOT = Path(__file__).resolve().parent.parent


class Durations:
    """Model time per prediction, changeable between runs (model seconds; 100 = 1 s real)."""

    def __init__(self) -> None:
        self.seconds = 40.0

    def __call__(self, inputs: dict[str, Any]) -> float:
        return self.seconds


@pytest.fixture
def durations() -> Durations:
    return Durations()


@pytest.fixture
def emu(durations: Durations) -> Iterator[Emulator]:
    painter = painter_model(durations)
    with emulated(painter, standard=False) as emulator:
        yield emulator


def write_spec(tmp_path: Path, rows: int, **extra: Any) -> Path:
    spec = {
        "name": "sweep",
        "concurrency": 4,
        "retry": {"initial_wait": 0.05, "max_wait": 0.2},
        "models": ["acme/painter"],
        "inputs": [{"id": f"r{i}", "prompt": f"picture {i}"} for i in range(rows)],
        "output_dir": str(tmp_path / "runs"),
        **extra,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def start_runner(spec: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "replicate_batch", str(spec), "--quiet", *args],
        env=env,
        cwd=spec.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journal_events(run_dir: Path) -> list[dict[str, Any]]:
    return list(read_journal_events(run_dir))


def wait_for_events(tmp_path: Path, kind: str, count: int, timeout_s: float = 30) -> Path:
    """Poll the journal (a real subprocess is writing it) until `count` events of `kind` are in."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run_dir in (tmp_path / "runs").glob("sweep-*"):
            if sum(e["event"] == kind for e in journal_events(run_dir)) >= count:
                return run_dir
        time.sleep(0.02)
    raise AssertionError(f"no {count} {kind!r} events in the journal after {timeout_s}s")


def predictions_per_prompt(emu: Emulator) -> Counter[str]:
    return Counter(state.input["prompt"] for state in emu.predictions.values())


def assert_complete(run_dir: Path, rows: int) -> pd.DataFrame:
    df = load_results(run_dir)
    assert sorted(df.row_id) == sorted(f"r{i}" for i in range(rows))  # exactly one row per job
    assert set(df.status) == {"succeeded"}
    for _, row in df.iterrows():
        index = int(row.row_id[1:])
        assert [(run_dir / f).read_bytes() for f in row.files] == [
            fake_png(f"picture {index}", 0, i) for i in range(2)
        ]
    return df


def resume_scaled(spec: Path, run_dir: Path, time_scale: float = SCALE) -> int:
    """Resume on the scaled clock: a create the dead run had in flight may be waited for (75.5 s)."""
    summary = run_batch(spec, resume=run_dir, clock=Clock(time_scale), stderr=io.StringIO())
    return summary.exit_code


def test_kill_9_mid_batch_then_resume_loses_nothing_and_creates_nothing_twice(
    emu: Emulator, tmp_path: Path
) -> None:
    rows = 24
    spec = write_spec(tmp_path, rows)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "finished", 6)
    runner.kill()  # SIGKILL: no cleanup, no flush beyond what was already written
    runner.communicate(timeout=10)
    assert runner.returncode == -signal.SIGKILL
    before = journal_events(run_dir)
    finished_before = {e["job_id"] for e in before if e["event"] == "finished"}
    assert 6 <= len(finished_before) < rows

    assert resume_scaled(spec, run_dir) == 0
    df = assert_complete(run_dir, rows)
    # Every prediction the server ever created belongs to a different job: nothing was paid twice.
    assert max(predictions_per_prompt(emu).values()) == 1
    assert len(emu.predictions) == rows
    # Jobs finished before the kill kept their prediction.
    kept = df[df.job_id.isin(finished_before)]
    first = {e["job_id"]: e["result"]["prediction_id"] for e in before if e["event"] == "finished"}
    assert all(first[row.job_id] == row.prediction_id for row in kept.itertuples())


def test_resume_picks_up_running_predictions_by_id(
    emu: Emulator, tmp_path: Path, durations: Durations
) -> None:
    durations.seconds = 150  # 1.5 s real: past the 0.6 s sync wait, still running when the runner dies
    spec = write_spec(tmp_path, 4)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "created", 4)
    runner.kill()
    runner.communicate(timeout=10)
    created = {e["job_id"]: e["prediction_id"] for e in journal_events(run_dir) if e["event"] == "created"}
    assert all(not state.is_terminal for state in emu.predictions.values())
    summary = run_batch(spec, resume=run_dir, clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.exit_code == 0
    df = assert_complete(run_dir, 4)
    assert dict(zip(df.job_id, df.prediction_id)) == created
    assert emu.count("create") == 4 and len(emu.predictions) == 4


def test_ctrl_c_cancels_in_flight_predictions_then_resumes_cleanly(
    emu: Emulator, tmp_path: Path, durations: Durations
) -> None:
    durations.seconds = 3000
    rows = 6
    spec = write_spec(tmp_path, rows)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "created", 4)
    runner.send_signal(signal.SIGINT)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == 130, err
    assert f"--resume {run_dir}" in err
    df = load_results(run_dir)
    assert len(df) == 4 and set(df.status) == {"canceled"} and set(df.error) == {"interrupted"}
    assert sorted(emu.cancels) == sorted(df.prediction_id)
    assert all(emu.predictions[p].status == "canceled" for p in df.prediction_id)

    durations.seconds = 40
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 0
    df = assert_complete(run_dir, rows)
    per_prompt = predictions_per_prompt(emu)
    assert sum(n == 2 for n in per_prompt.values()) == 4  # the canceled four ran again
    assert len(per_prompt) == rows


def test_sigterm_is_an_interrupt_too(emu: Emulator, tmp_path: Path, durations: Durations) -> None:
    durations.seconds = 3000
    spec = write_spec(tmp_path, 2)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "created", 2)
    runner.send_signal(signal.SIGTERM)
    runner.communicate(timeout=30)
    assert runner.returncode == 130
    assert set(load_results(run_dir).error) == {"interrupted"}
    assert len(emu.cancels) == 2


def test_a_lost_create_is_looked_up_again_on_resume(emu: Emulator, tmp_path: Path) -> None:
    emu.add_fault(Fault("create", drop=True, after=True))
    emu.add_fault(Fault("list", status=500, times=1000))
    spec = write_spec(tmp_path, 1, retry={"initial_wait": 0.05, "max_attempts": 2})
    first = run_batch(spec, clock=Clock(SCALE), stderr=io.StringIO())
    assert first.exit_code == 1
    assert "could not be looked up" in load_results(first.run_dir).error[0]
    emu.clear_faults()  # the list endpoint works again
    again = run_batch(spec, resume=first.run_dir, clock=Clock(SCALE), stderr=io.StringIO())
    assert again.exit_code == 0
    assert_complete(first.run_dir, 1)
    assert emu.count("create") == 1 and len(emu.predictions) == 1


def test_a_failed_download_is_fetched_again_by_id_on_resume_never_created_again(
    emu: Emulator, tmp_path: Path
) -> None:
    second_file = Fault("download", status=503, times=UNTIL_REMOVED, match=lambda r: "/out-1" in r["path"])
    emu.add_fault(second_file)
    spec = write_spec(tmp_path, 2)
    first = run_batch(spec, clock=Clock(SCALE), stderr=io.StringIO())
    assert first.exit_code == 1 and first.run_dir is not None
    df = load_results(first.run_dir)
    assert set(df.status) == {"failed"}
    assert all("succeeded, but output file 2 of 2 could not be downloaded" in e for e in df.error)
    ids = dict(zip(df.job_id, df.prediction_id))
    assert all(ids.values()) and len(set(ids.values())) == 2

    assert resume_scaled(spec, first.run_dir) == 1  # the files still cannot be fetched: still failed
    df = load_results(first.run_dir)
    assert dict(zip(df.job_id, df.prediction_id)) == ids and emu.count("create") == 2

    emu.remove_fault(second_file)
    assert resume_scaled(spec, first.run_dir) == 0
    df = assert_complete(first.run_dir, 2)
    assert dict(zip(df.job_id, df.prediction_id)) == ids  # fetched by id, with their files
    assert emu.count("create") == 2 and len(emu.predictions) == 2  # nothing paid twice
    assert set(df.attempts) == {1}


@pytest.mark.parametrize("gone", ["data removed", "file URL 410", "prediction 404"])
def test_a_failed_download_is_created_again_only_when_the_server_no_longer_has_it(
    emu: Emulator, tmp_path: Path, gone: str
) -> None:
    failing = emu.add_fault(Fault("download", status=503, times=UNTIL_REMOVED))
    spec = write_spec(tmp_path, 1)
    first = run_batch(spec, clock=Clock(SCALE), stderr=io.StringIO())
    assert first.exit_code == 1 and first.run_dir is not None
    [old_id] = load_results(first.run_dir).prediction_id
    emu.remove_fault(failing)
    if gone == "data removed":  # what the API does an hour after a prediction
        emu.remove_data(old_id)
    elif gone == "file URL 410":
        emu.add_fault(Fault("download", status=410, times=UNTIL_REMOVED, match=lambda r: old_id in r["path"]))
    else:
        emu.add_fault(Fault("get", status=404, times=UNTIL_REMOVED, match=lambda r: old_id in r["path"]))

    assert resume_scaled(spec, first.run_dir) == 0
    df = assert_complete(first.run_dir, 1)
    assert df.prediction_id[0] != old_id
    assert emu.count("create") == 2
    assert emu.count("get", lambda r: old_id in r["path"]) >= 1  # it was looked at before creating


def test_kill_9_while_a_create_is_held_at_the_server_then_resume_creates_it_once(
    emu: Emulator, tmp_path: Path
) -> None:
    # The server holds the create 1 s (real) before the prediction exists: a slow network, a stall.
    emu.add_fault(Fault("create", hold_s=100))
    spec = write_spec(tmp_path, 1)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "creating", 1)
    deadline = time.monotonic() + 30
    while emu.count("create") == 0:  # the create has reached the server, which holds it
        assert time.monotonic() < deadline, "the create never reached the server"
        time.sleep(0.005)
    runner.kill()
    runner.communicate(timeout=10)
    assert emu.predictions == {}  # killed while the create was held: nothing exists yet

    # The create may land until its request timeout (75.5 s of clock time): 1.5 s real on this clock,
    # so the resume's first lookup comes before the held prediction exists, and a later one after.
    assert resume_scaled(spec, run_dir, time_scale=2 * SCALE) == 0
    while emu.answering:  # whatever the dead runner sent has been dealt with
        assert time.monotonic() < deadline, "the held create never ended"
        time.sleep(0.005)
    df = assert_complete(run_dir, 1)
    assert predictions_per_prompt(emu) == {"picture 0": 1}  # exactly one prediction for that input
    assert list(df.prediction_id) == list(emu.predictions)
    assert emu.count("create") == 1


def test_a_changed_spec_is_refused_unless_forced(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, 2)
    assert main([str(spec), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs").glob("sweep-*"))
    spec = write_spec(tmp_path, 3)
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 2
    assert "the spec changed since" in capsys.readouterr().err
    assert emu.count("create") == 2
    assert main([str(spec), "--resume", str(run_dir), "--force", "--quiet"]) == 0
    assert_complete(run_dir, 3)
    assert emu.count("create") == 3  # only the new row ran


def test_two_writers_never_share_a_run_folder(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, 1)
    assert main([str(spec), "--quiet"]) == 0
    run_dir = next((tmp_path / "runs").glob("sweep-*"))
    holder = RunFolder.reopen(run_dir, ResultColumns())  # another writer holds the folder
    try:
        assert main([str(spec), "--resume", str(run_dir)]) == 2
        assert "is being written by process" in capsys.readouterr().err
    finally:
        holder.close()
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 0


def test_creates_refused_with_429_are_not_counted_as_tries_after_a_resume(tmp_path: Path) -> None:
    from replicate_batch.runfolder.journal import read_journal

    events = [
        {"event": "creating", "job_id": "j", "attempt": 1, "input": {"prompt": "x"}},
        {"event": "throttled", "job_id": "j"},
        {"event": "creating", "job_id": "j", "attempt": 1, "input": {"prompt": "x"}},
        {"event": "throttled", "job_id": "j"},
        {"event": "creating", "job_id": "j", "attempt": 1, "input": {"prompt": "x"}},
    ]
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert read_journal(tmp_path).tries == {"j": 1}
