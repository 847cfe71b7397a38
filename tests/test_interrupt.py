"""Ctrl-C, SIGTERM and SIGHUP while creates wait for their answer: exit at once, pay for nothing twice."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from replicate_batch import load_results
from replicate_batch.cli import main
from tests.emulated import emulated
from tests.emulator_models import painter_model
from tests.replicate_emulator import Emulator, Fault
from tests.test_resume import ROOT, assert_complete, journal_events, start_runner, wait_for_events, write_spec

# Model seconds (100 = 1 s real): quick ones end while their create's answer is still on the way,
# slow ones are still running when the signal comes.
QUICK_S, SLOW_S = 20.0, 100_000.0
# Real seconds a create's answer is held (a slow network): the old runner waited them all out.
ANSWER_DELAY_S = 60.0
# Generous: the runner needs well under a second; the old one needed ANSWER_DELAY_S.
EXIT_BOUND_S = 12.0


class Durations:
    """Model time per prompt, changeable between runs."""

    def __init__(self) -> None:
        self.by_prompt: dict[str, float] = {}

    def __call__(self, inputs: dict[str, Any]) -> float:
        return self.by_prompt.get(inputs["prompt"], QUICK_S)


@pytest.fixture
def durations() -> Durations:
    return Durations()


@pytest.fixture
def emu(durations: Durations) -> Iterator[Emulator]:
    painter = painter_model(durations)
    with emulated(painter, standard=False) as emulator:
        yield emulator


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout_s}s")
        time.sleep(0.02)


def states(emu: Emulator) -> dict[str, str]:
    """Status of each prediction on the emulator, by prompt (one prediction per prompt expected)."""
    return {state.input["prompt"]: state.status for state in list(emu.predictions.values())}


def creates_per_prompt(emu: Emulator) -> Counter[str]:
    return Counter(state.input["prompt"] for state in list(emu.predictions.values()))


def interrupt(runner: subprocess.Popen[str], signum: int) -> tuple[float, str]:
    """Send `signum` to the runner; how long it took to exit, and its stderr."""
    started = time.monotonic()
    os.kill(runner.pid, signum)
    try:
        _, err = runner.communicate(timeout=ANSWER_DELAY_S + 30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    return time.monotonic() - started, err


def manifest_status(run_dir: Path) -> str:
    return str(json.loads((run_dir / "manifest.json").read_text())["status"])


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_an_interrupt_during_sync_creates_exits_at_once_and_keeps_what_finished(
    emu: Emulator, tmp_path: Path, durations: Durations, signum: int
) -> None:
    rows, slow = 6, {"picture 3", "picture 4", "picture 5"}
    durations.by_prompt = dict.fromkeys(slow, SLOW_S)
    emu.add_fault(Fault("create", answer_delay_s=ANSWER_DELAY_S, times=rows))
    spec = write_spec(tmp_path, rows, concurrency=rows)
    runner = start_runner(spec)
    # Every create is on the server; the quick predictions have ended, their answers are not back yet.
    wait_until(
        lambda: (
            len(emu.predictions) == rows
            and sum(s == "succeeded" for s in states(emu).values()) == rows - len(slow)
        ),
        "six predictions, three of them ended",
    )
    run_dir = wait_for_events(tmp_path, "creating", rows)
    assert not any(e["event"] == "created" for e in journal_events(run_dir))  # no answer yet

    elapsed, err = interrupt(runner, signum)

    assert runner.returncode == 130, err
    assert elapsed < EXIT_BOUND_S, f"exited {elapsed:.1f}s after the signal"
    assert f"--resume {run_dir}" in err
    assert manifest_status(run_dir) == "interrupted"
    by_prompt = {state.input["prompt"]: state for state in emu.predictions.values()}
    # The slow ones were canceled and recorded so; the ended ones were never canceled nor recorded
    # canceled: they are the server's, waiting for --resume to adopt them.
    df = load_results(run_dir)
    assert sorted(df.row_id) == ["r3", "r4", "r5"]
    assert set(df.status) == {"canceled"} and set(df.error) == {"interrupted"}
    assert sorted(df.prediction_id) == sorted(by_prompt[p].id for p in slow)
    assert sorted(emu.cancels) == sorted(df.prediction_id)
    assert {by_prompt[p].status for p in slow} == {"canceled"}
    created = {e["job_id"]: e["prediction_id"] for e in journal_events(run_dir) if e["event"] == "created"}
    assert sorted(created.values()) == sorted(state.id for state in by_prompt.values())

    emu.clear_faults()
    durations.by_prompt = {}
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 0
    df = assert_complete(run_dir, rows)
    # The ended predictions were adopted by id, never created again; the canceled ones ran again.
    ended = [f"picture {i}" for i in range(3)]
    ids = dict(zip(df.row_id, df.prediction_id))
    assert [ids[f"r{i}"] for i in range(3)] == [by_prompt[p].id for p in ended]
    assert creates_per_prompt(emu) == Counter({**dict.fromkeys(ended, 1), **dict.fromkeys(slow, 2)})


def test_a_create_still_on_its_way_at_the_interrupt_is_adopted_by_resume(
    emu: Emulator, tmp_path: Path, durations: Durations
) -> None:
    held_s = 8.0  # the create reaches the server (and the prediction exists) only this long after
    durations.by_prompt = {"picture 0": SLOW_S}
    emu.add_fault(Fault("create", delay_s=held_s, match=lambda body: body["input"]["prompt"] == "picture 1"))
    spec = write_spec(tmp_path, 2, concurrency=2)
    runner = start_runner(spec)
    run_dir = wait_for_events(tmp_path, "created", 1)  # picture 0 is being polled
    wait_until(lambda: emu.count("create") == 2, "both creates at the server")
    assert len(emu.predictions) == 1

    elapsed, err = interrupt(runner, signal.SIGINT)

    assert runner.returncode == 130, err
    assert elapsed < held_s - 2, f"exited {elapsed:.1f}s after the signal"
    df = load_results(run_dir)
    assert list(df.row_id) == ["r0"] and list(df.error) == ["interrupted"]
    # The held create lands after the runner is gone; only the journal's intent record knows of it.
    wait_until(lambda: states(emu).get("picture 1") == "succeeded", "the held create", held_s + 10)

    durations.by_prompt = {}
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 0
    df = assert_complete(run_dir, 2)
    assert emu.creates_with({"prompt": "picture 1"}) == 1  # found by lookup, not created again
    assert creates_per_prompt(emu) == Counter({"picture 0": 2, "picture 1": 1})


def test_a_polled_prediction_that_ended_before_the_interrupt_is_kept(
    emu: Emulator, tmp_path: Path, durations: Durations
) -> None:
    durations.by_prompt = {"picture 0": 150}  # 1.5 s real: past the 0.6 s sync wait, so it is polled
    emu.add_fault(Fault("get", answer_delay_s=3.0))  # its first poll answers `processing`, 3 s late
    spec = write_spec(tmp_path, 1)
    runner = start_runner(spec)
    wait_until(lambda: emu.count("get") == 1 and states(emu) == {"picture 0": "succeeded"}, "the end")
    run_dir = wait_for_events(tmp_path, "created", 1)

    elapsed, err = interrupt(runner, signal.SIGINT)

    assert runner.returncode == 130, err
    assert elapsed < EXIT_BOUND_S
    # The last answer said `processing`, but the prediction had succeeded: recorded so, with its files.
    df = assert_complete(run_dir, 1)
    [state] = emu.predictions.values()
    assert (state.status, state.canceled_by_request) == ("succeeded", False)
    assert list(df.prediction_id) == [state.id]
    assert main([str(spec), "--resume", str(run_dir), "--quiet"]) == 0
    assert emu.count("create") == 1


def test_sighup_from_a_closed_terminal_is_an_interrupt(
    emu: Emulator, tmp_path: Path, durations: Durations
) -> None:
    durations.by_prompt = {"picture 0": SLOW_S, "picture 1": SLOW_S}
    spec = write_spec(tmp_path, 2, concurrency=2)
    master, terminal = os.openpty()
    runner = subprocess.Popen(
        [sys.executable, "-m", "replicate_batch", str(spec)],  # not --quiet: progress goes to the terminal
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=spec.parent,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    closed = threading.Event()
    reader = threading.Thread(target=drain, args=(master, closed), daemon=True)
    reader.start()
    try:
        run_dir = wait_for_events(tmp_path, "created", 2)
        closed.set()  # the terminal window is closed: nobody reads, writes to it fail
        reader.join()
        os.close(master)
        started = time.monotonic()
        os.kill(runner.pid, signal.SIGHUP)
        code = runner.wait(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    assert code == 130
    assert time.monotonic() - started < EXIT_BOUND_S
    df = load_results(run_dir)
    assert set(df.status) == {"canceled"} and set(df.error) == {"interrupted"} and len(df) == 2
    assert sorted(emu.cancels) == sorted(df.prediction_id)
    assert manifest_status(run_dir) == "interrupted"


def drain(fd: int, closed: threading.Event) -> None:
    """Read a terminal's output until told to stop, as a terminal window would."""
    while not closed.is_set():
        if select.select([fd], [], [], 0.05)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                return
