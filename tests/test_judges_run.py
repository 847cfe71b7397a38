"""Judges in whole runs against the Replicate emulator: graded as each job ends, in the run's pool,
paid for once across kill -9 + --resume and across rescore."""

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

import pytest
import yaml

from replicate_batch import load_results, rescore_run, run_batch
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from replicate_batch.runfolder.journal import journal_events
from tests.emulated import SCALE, emulated
from tests.judge_models import grader_model
from tests.replicate_emulator import Emulator
from tests.replicate_example_models import replicate_example_models

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Reference: {_expected}\nAnswer: {output}\nIs the answer correct? Reply A (yes) or B (no)."
SHARE = "Reference: {_expected}\nAnswer: {output}\nScore it out of 10."


class Seconds:
    """The grader's model time per prediction, changeable between runs (100 model s = 1 s real)."""

    def __init__(self) -> None:
        self.value = 0.3

    def __call__(self, inputs: dict[str, Any]) -> float:
        return self.value


@pytest.fixture
def grader_time() -> Seconds:
    return Seconds()


@pytest.fixture
def emu(grader_time: Seconds) -> Iterator[Emulator]:
    grader = grader_model()
    grader.duration_s = grader_time
    with emulated(grader) as emulator:
        yield emulator


def rows(count: int) -> list[dict[str, Any]]:
    """Rows whose answers the grader finds right (even rows) or wrong (odd rows)."""
    return [
        {"id": f"r{i}", "prompt": f"red paint {i}" if i % 2 == 0 else f"blue paint {i}", "_expected": "red"}
        for i in range(count)
    ]


def correct(**extra: Any) -> dict[str, Any]:
    return {
        "name": "correct",
        "judge": {"ref": "acme/grader", "input": {"max_tokens": 8}},
        "ask": {"prompt": PROMPT},
        "choices": {"A": 1, "B": 0},
        **extra,
    }


def share(prompt: str = SHARE) -> dict[str, Any]:
    return {"name": "share", "judge": "acme/grader", "ask": {"prompt": prompt}, "regex": r"Score: (\d+)/10"}


def spec_of(tmp_path: Path, count: int, scorers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "judged",
        "concurrency": 4,
        "retry": {"initial_wait": 0.05, "max_wait": 0.2},
        "models": ["acme/echo"],
        "inputs": rows(count),
        "scorers": scorers,
        "output_dir": str(tmp_path / "runs"),
        **extra,
    }


def write(tmp_path: Path, spec: dict[str, Any], name: str = "judged.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def judge_prompts(emu: Emulator) -> Counter[str]:
    """Judge predictions created at the emulator, by the prompt they were sent."""
    return Counter(s.input["prompt"] for s in emu.predictions.values() if s.model == "acme/grader")


def candidates(emu: Emulator) -> Counter[str]:
    return Counter(s.input["prompt"] for s in emu.predictions.values() if s.model == "acme/echo")


def test_each_job_is_judged_as_it_finishes_and_the_reply_is_its_note(emu: Emulator, tmp_path: Path) -> None:
    spec = spec_of(tmp_path, 4, [correct()])
    spec["inputs"].append({"id": "broken", "prompt": "x", "fail": True, "_expected": "red"})
    stderr = io.StringIO()
    summary = run_batch(spec, clock=Clock(SCALE), stderr=stderr)
    assert summary.exit_code == 1 and summary.run_dir is not None  # the broken row failed
    df = load_results(summary.run_dir).set_index("row_id")
    assert df.loc[["r0", "r1", "r2", "r3"], "score.correct"].tolist() == [1, 0, 1, 0]
    assert df.loc[["r0", "r1"], "note.correct"].tolist() == ["A", "B"]
    assert df.loc["broken", "status"] == "failed" and df["score.correct"].isna()["broken"]
    assert len(judge_prompts(emu)) == 4  # the failed job was not judged
    # The judge's model and version are in the manifest; its predictions in the summary.
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    version = emu.models["acme/grader"].version_id
    assert manifest["judges"] == [{"scorer": "correct", "model_ref": "acme/grader", "version": version}]
    assert manifest["scores"]["echo"]["correct"]["mean"] == 0.4  # the failed job counts 0
    (stats,) = summary.judges
    assert (stats.scorer, stats.predictions, stats.failed, stats.reused) == ("correct", 4, 0, 0)
    assert stats.predict_s > 0
    assert summary.table.splitlines()[-2:][0].split() == [
        "judge",
        "predictions",
        "failed",
        "reused",
        "predict_s",
    ]
    assert summary.table.splitlines()[-1].split()[:4] == ["correct", "4", "0", "0"]
    # The progress line counts judge predictions apart from the jobs.
    assert "5/5 done, 1 failed, 0 in flight, judging 4/4, " in stderr.getvalue()


def test_judges_share_the_pool_and_start_before_every_candidate_is_made(
    emu: Emulator, tmp_path: Path, grader_time: Seconds
) -> None:
    grader_time.value = 2.0  # as long as a candidate (acme/echo takes 0.5 + `seconds`)
    spec = spec_of(tmp_path, 12, [correct()], concurrency=3)
    spec["models"] = [{"ref": "acme/echo", "input": {"seconds": 1.5}}]
    summary = run_batch(spec, clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.exit_code == 0
    states = list(emu.predictions.values())
    assert len(states) == 24
    events = sorted([(s.created_ns, 1) for s in states] + [(s.completed_ns or 0, -1) for s in states])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most <= 3  # candidates and judges together never more than `concurrency`
    first_judge = min(s.created_ns for s in states if s.model == "acme/grader")
    last_candidate = max(s.created_ns for s in states if s.model == "acme/echo")
    assert first_judge < last_candidate  # no barrier: judging began while candidates were still to make


def test_regex_with_scale_and_two_judges_on_one_model(emu: Emulator, tmp_path: Path) -> None:
    scorer = {**share(), "scale": 10}
    summary = run_batch(spec_of(tmp_path, 2, [correct(), scorer]), clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.exit_code == 0 and summary.run_dir is not None
    df = load_results(summary.run_dir).set_index("row_id").sort_index()
    assert df["score.share"].tolist() == [1.0, 0.0]
    assert df["note.share"].tolist() == ["Score: 10/10", "Score: 0/10"]
    assert emu.count("model") == 2  # the echo model and the grader: looked up once each


def test_a_judge_the_server_refuses_leaves_jobs_unscored_with_the_reason(
    emu: Emulator, tmp_path: Path
) -> None:
    scorer = correct(ask={"prompt": PROMPT, "temperature": "{_expected}"})  # "red" is not a number
    summary = run_batch(spec_of(tmp_path, 2, [scorer]), clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.exit_code == 0 and summary.run_dir is not None  # the jobs themselves succeeded
    df = load_results(summary.run_dir)
    assert df["score.correct"].isna().all()
    assert all(
        note.startswith("the judge's prediction failed: ") and "temperature" in note
        for note in df["note.correct"]
    )
    assert summary.judges[0].failed == 2
    assert (
        json.loads((summary.run_dir / "manifest.json").read_text())["scores"]["echo"]["correct"]["scored"]
        == 0
    )


def wait_for(run_dir_parent: Path, test: Any, what: str, timeout_s: float = 30) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run_dir in run_dir_parent.glob("judged-*"):
            if test(list(journal_events(run_dir))):
                return run_dir
        time.sleep(0.02)
    raise AssertionError(f"no {what} in the journal after {timeout_s}s")


def start_runner(spec: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "replicate_batch", str(spec), "--quiet", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=spec.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def judge_events_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind and "judge" in e]


def test_kill_9_with_judge_predictions_in_flight_then_resume_creates_each_judge_input_once(
    emu: Emulator, tmp_path: Path, grader_time: Seconds
) -> None:
    grader_time.value = 150  # 1.5 s real: the runner dies while judges are being asked
    count = 8
    path = write(tmp_path, spec_of(tmp_path, count, [correct()]))
    runner = start_runner(path)
    run_dir = wait_for(
        tmp_path / "runs", lambda events: len(judge_events_of(events, "creating")) >= 4, "4 judge creates"
    )
    runner.kill()
    runner.communicate(timeout=10)
    assert runner.returncode == -signal.SIGKILL
    before = list(journal_events(run_dir))
    assert not judge_events_of(before, "finished")  # every judge prediction was still in flight

    grader_time.value = 0.3
    resumed = run_batch(path, resume=run_dir, clock=Clock(SCALE), stderr=io.StringIO())
    assert resumed.exit_code == 0
    df = load_results(run_dir).set_index("row_id")
    assert len(df) == count
    assert df.loc[[f"r{i}" for i in range(count)], "score.correct"].tolist() == [1, 0] * (count // 2)
    # Nothing was paid twice: each candidate and each judge input was created once at the server.
    assert max(candidates(emu).values()) == 1 and len(candidates(emu)) == count
    assert max(judge_prompts(emu).values()) == 1 and len(judge_prompts(emu)) == count


def test_ctrl_c_cancels_judge_predictions_and_resume_judges_those_jobs(
    emu: Emulator, tmp_path: Path, grader_time: Seconds
) -> None:
    grader_time.value = 3000
    path = write(tmp_path, spec_of(tmp_path, 4, [correct()]))
    runner = start_runner(path)
    run_dir = wait_for(
        tmp_path / "runs", lambda events: len(judge_events_of(events, "created")) >= 2, "2 judge predictions"
    )
    runner.send_signal(signal.SIGINT)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == 130, err
    df = load_results(run_dir)
    canceled = df[df["note.correct"] == "the judge's prediction was canceled: interrupted"]
    assert (
        len(canceled) >= 2
        and set(canceled.status) == {"succeeded"}
        and canceled["score.correct"].isna().all()
    )

    # Every judge prediction in flight was canceled and journaled so (some jobs were left unrecorded).
    stopped = [e["result"] for e in judge_events_of(list(journal_events(run_dir)), "finished")]
    assert len(stopped) >= len(canceled) and {r["status"] for r in stopped} == {"canceled"}
    assert all(emu.predictions[r["prediction_id"]].status == "canceled" for r in stopped)

    grader_time.value = 0.3
    assert main([str(path), "--resume", str(run_dir), "--quiet"]) == 0
    df = load_results(run_dir).set_index("row_id").sort_index()
    assert df["score.correct"].tolist() == [1, 0, 1, 0]
    assert max(candidates(emu).values()) == 1  # no job was run again: kept, or picked up by id
    assert len(judge_prompts(emu)) == 4
    assert sum(n == 2 for n in judge_prompts(emu).values()) == len(stopped)  # a canceled judge is asked again


def test_resume_force_with_a_new_judge_judges_the_kept_jobs_once(emu: Emulator, tmp_path: Path) -> None:
    first = run_batch(spec_of(tmp_path, 4, []), clock=Clock(SCALE), stderr=io.StringIO())
    assert first.run_dir is not None
    stderr = io.StringIO()
    again = run_batch(
        spec_of(tmp_path, 4, [correct()]), resume=first.run_dir, force=True, clock=Clock(SCALE), stderr=stderr
    )
    assert again.exit_code == 0
    df = load_results(first.run_dir).sort_values("row_id")
    assert df["score.correct"].tolist() == [1, 0, 1, 0]
    assert len(candidates(emu)) == 4 and max(candidates(emu).values()) == 1
    assert list(judge_prompts(emu).values()) == [1, 1, 1, 1]
    assert again.judges[0].predictions == 4


def test_rescore_reuses_unchanged_judges_and_asks_a_changed_one_once_per_job(
    emu: Emulator, tmp_path: Path
) -> None:
    summary = run_batch(spec_of(tmp_path, 4, [correct(), share()]), clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.exit_code == 0 and summary.run_dir is not None
    run_dir = summary.run_dir
    made = len(emu.predictions)
    assert made == 4 + 8

    # Unchanged judges: every reply is in the journal; nothing is created.
    again = rescore_run(run_dir, clock=Clock(SCALE))
    assert again.exit_code == 0
    assert len(emu.predictions) == made and emu.count("create") == made
    assert [(s.predictions, s.reused) for s in again.judges] == [(0, 4), (0, 4)]
    # Reading a reply differently re-reads it: still nothing created.
    scorers = {"scorers": [correct(choices={"A": 0.5, "B": 0}), share()]}
    assert rescore_run(run_dir, write(tmp_path, scorers, "read.yaml"), clock=Clock(SCALE)).exit_code == 0
    assert load_results(run_dir).sort_values("row_id")["score.correct"].tolist() == [0.5, 0, 0.5, 0]
    assert len(emu.predictions) == made

    # One judge's prompt changed: only that judge is asked, once per job.
    changed = {"scorers": [correct(), share(SHARE + " Be strict.")]}
    result = rescore_run(run_dir, write(tmp_path, changed, "changed.yaml"), clock=Clock(SCALE))
    assert result.exit_code == 0
    new = [s for s in emu.predictions.values() if s.input["prompt"].endswith("Be strict.")]
    assert len(emu.predictions) == made + 4 and len(new) == 4
    assert len({s.input["prompt"] for s in new}) == 4
    df = load_results(run_dir).sort_values("row_id")
    assert df["score.correct"].tolist() == [1, 0, 1, 0] and df["score.share"].tolist() == [10, 0, 10, 0]
    assert [(s.predictions, s.reused) for s in result.judges] == [(0, 4), (4, 0)]
    # And asked again, it is reused: its replies are journaled in the run's journal.
    assert rescore_run(run_dir, write(tmp_path, changed, "changed.yaml"), clock=Clock(SCALE)).exit_code == 0
    assert len(emu.predictions) == made + 4


def test_rescore_with_every_reply_known_needs_no_token(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = run_batch(spec_of(tmp_path, 2, [correct()]), clock=Clock(SCALE), stderr=io.StringIO())
    assert summary.run_dir is not None
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    requests = len(emu.requests)
    assert rescore_run(summary.run_dir, clock=Clock(SCALE)).exit_code == 0  # no judge backend is built
    assert len(emu.requests) == requests


def test_the_replicate_examples_llm_judge_is_checked_by_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    with emulated(*replicate_example_models(), standard=False) as emu:
        assert main([str(ROOT / "configs" / "replicate-examples.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "  helpful  on meta/meta-llama-3-70b-instruct: at most 4 predictions" in out
    assert "/v1/models/meta/meta-llama-3-70b-instruct" in {r.path for r in emu.requests}
    assert emu.count("create") == 0


def test_a_judge_is_checked_with_every_other_preflight_problem(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = spec_of(
        tmp_path,
        2,
        [
            correct(judge={"ref": "acme/grader", "input": {"max_tokens": 0}}),
            {"name": "gone", "judge": "acme/nobody", "ask": {"prompt": "{output}"}, "choices": {"A": 1}},
            {"name": "typo", "judge": "acme/grader", "ask": {"promt": "{output}"}, "choices": {"A": 1}},
            {
                "name": "where",
                "judge": {"cog": "no/such/folder"},
                "ask": {"prompt": "{output}"},
                "field": "x",
            },
        ],
        matrix={"sead": [1]},
    )
    path = write(tmp_path, spec)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    for line in [
        "matrix.sead: no model takes `sead`",
        "scorers[0].judge.input.max_tokens: `max_tokens` = 0 is below the minimum 1 for the judge `grader`",
        "scorers[1].judge: judge `nobody`: ",
        "scorers[2].ask.promt: the judge `grader` has no input `promt` (did you mean `prompt`?)",
        "scorers[2].ask: the judge `grader` requires the input `prompt`",
        "scorers[3].judge: judge `folder`: ",
    ]:
        assert f"{path}: {line}" in err, line
    assert emu.count("create") == 0
