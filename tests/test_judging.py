"""Judge predictions through the real executor against the Replicate emulator: one per key, journaled.

These drive `Judging` directly (the part of a run that judges a finished job), with a real run
folder, the real executor and the official client talking to the emulator.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.backends.factory import make_backends
from replicate_batch.clock import Clock
from replicate_batch.errors import SpecError
from replicate_batch.execution.download import Downloader
from replicate_batch.execution.executor import Execution
from replicate_batch.execution.judging import Judging
from replicate_batch.execution.ratelimit import TokenBucket
from replicate_batch.execution.retry import RetryPolicy
from replicate_batch.judge_models import PreparedJudges, plan_judges
from replicate_batch.runfolder.journal import JudgeJournal, journal_events, read_journal
from replicate_batch.runfolder.results import ResultColumns
from replicate_batch.runfolder.writer import RunFolder
from replicate_batch.scoring import Judge, Score, parse_scorers
from replicate_batch.spec.loading import parse_spec
from tests.emulated import SCALE, emulated
from tests.judge_models import grader_model
from tests.replicate_emulator import Emulator, Fault

JUDGE_MODEL = Path(__file__).resolve().parents[1] / "examples" / "models" / "judge"
PROMPT = "Reference: {_expected}\nAnswer: {output}\nIs the answer correct? Reply A (yes) or B (no)."
ROW = {"id": "r1", "prompt": "what colour?", "_expected": "red", "_tokens": "4"}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulated(grader_model()) as emulator:
        yield emulator


class Bench:
    """A run folder, the executor and the judges of `scorers`, as a run wires them."""

    def __init__(
        self,
        tmp_path: Path,
        scorers: list[dict[str, Any]],
        run_dir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.loaded = parse_spec(
            {
                "models": ["acme/echo"],
                "inputs": [ROW],
                "retry": {"initial_wait": 0.05, "max_wait": 0.2},
                "timeout": 60,
            },
            base_dir=tmp_path,
        )
        judges, problems = parse_scorers(
            scorers, spec_dir=tmp_path, model_names=["echo"], row_fields=["prompt", "_expected", "_tokens"]
        )
        assert not problems, [str(p) for p in problems]
        self.judges = {judge.name: judge for judge in judges if isinstance(judge, Judge)}
        clock = clock or Clock(time_scale=SCALE)
        self.prepared: PreparedJudges
        self.prepared, problems = plan_judges(
            self.loaded, list(self.judges.values()), concurrency=4, clock=clock, backends=make_backends
        )
        if problems:
            raise SpecError(problems)
        if run_dir is None:
            self.folder = RunFolder.create(tmp_path / "runs", "judging", ResultColumns())
            journal = JudgeJournal()
        else:
            self.folder = RunFolder.reopen(run_dir, ResultColumns())
            journal = read_journal(run_dir).judges
        self.folder.open("", {}, "hash")
        policy = RetryPolicy(self.loaded.spec.retry, clock)
        self.execution = Execution(
            folder=self.folder,
            policy=policy,
            creates=TokenBucket(600 * 0.98, clock),
            polls=TokenBucket.at_most(2500, clock),
            downloader=Downloader(policy),
            clock=clock,
            timeout_s=60,
            repeats=1,
        )
        self.judging = Judging(self.execution, self.prepared, self.loaded, journal)

    def score(self, name: str, output: str, row: Mapping[str, Any] = ROW, job_id: str = "job1") -> Score:
        return self.judging.score(
            self.judges[name], job_id=job_id, output_text=output, output_value=output, row=row
        )

    def close(self) -> None:
        self.execution.downloader.close()
        self.folder.close()
        self.prepared.stop()

    def judge_events(self) -> list[dict[str, Any]]:
        return [e for e in journal_events(self.folder.path) if "judge" in e]


@pytest.fixture
def bench_for(tmp_path: Path) -> Iterator[Any]:
    made: list[Bench] = []

    def make(scorers: list[dict[str, Any]], run_dir: Path | None = None, clock: Clock | None = None) -> Bench:
        bench = Bench(tmp_path, scorers, run_dir, clock)
        made.append(bench)
        return bench

    yield make
    for bench in made:
        bench.close()


def correct(**extra: Any) -> dict[str, Any]:
    return {
        "name": "correct",
        "judge": {"ref": "acme/grader", "input": {"max_tokens": 8, "temperature": 0}},
        "ask": {"prompt": PROMPT},
        "choices": {"A": 1, "B": 0},
        **extra,
    }


def test_a_hosted_judge_grades_by_its_choices_and_its_reply_is_the_note(
    emu: Emulator, bench_for: Any
) -> None:
    bench = bench_for([correct()])
    assert bench.score("correct", "A red fridge") == Score(1.0, "A")
    assert bench.score("correct", "A blue fridge") == Score(0.0, "B")
    sent = [r.body["input"] for r in emu.requests if r.endpoint == "create"]
    assert sent[0] == {
        "prompt": "Reference: red\nAnswer: A red fridge\nIs the answer correct? Reply A (yes) or B (no).",
        "max_tokens": 8,
        "temperature": 0,
    }
    # Journaled like a job's prediction, marked as the judge's, with its key; id and version in the record.
    events = bench.judge_events()
    assert [e["event"] for e in events] == ["creating", "created", "finished"] * 2
    assert all(e["judge"] == "correct" and e["for_job"] == "job1" and len(e["key"]) == 32 for e in events)
    finished = [e["result"] for e in events if e["event"] == "finished"]
    assert [r["reply"] for r in finished] == ["A", "B"]
    assert {r["prediction_id"] for r in finished} == set(emu.predictions)
    version = emu.models["acme/grader"].version_id
    assert all(r["version"] == version and r["status"] == "succeeded" for r in finished)
    assert bench.prepared.models[0].version == version


def test_the_same_judge_input_is_predicted_once_and_reused(emu: Emulator, bench_for: Any) -> None:
    bench = bench_for([correct()])
    scores = [bench.score("correct", "red", job_id=f"job{i}") for i in range(3)]
    assert scores == [Score(1.0, "A")] * 3
    assert emu.count("create") == 1
    (stats,) = bench.judging.tally.stats()
    assert (stats.predictions, stats.reused, stats.failed) == (1, 2, 0)


def test_jobs_asking_the_same_judge_input_at_once_share_one_prediction(emu: Emulator, bench_for: Any) -> None:
    bench = bench_for([correct()])
    scores: list[Score] = []
    threads = [
        threading.Thread(target=lambda i=i: scores.append(bench.score("correct", "red", job_id=f"j{i}")))
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert scores == [Score(1.0, "A")] * 6
    assert emu.count("create") == 1


def test_regex_and_scale_read_a_number_from_the_reply(emu: Emulator, bench_for: Any) -> None:
    ask = {"prompt": "Reference: {_expected} paint\nAnswer: {output}\nScore it out of 10."}
    bench = bench_for(
        [{"name": "share", "judge": "acme/grader", "ask": ask, "regex": r"Score: (\d+)/10", "scale": 10}]
    )
    assert bench.score("share", "red only") == Score(0.5, "Score: 5/10")


def test_field_reads_a_number_or_bool_of_a_json_reply(emu: Emulator, bench_for: Any) -> None:
    ask = {"prompt": "Reference: {_expected} paint\nAnswer: {output}\nReply in JSON."}
    bench = bench_for(
        [
            {"name": "share", "judge": "acme/grader", "ask": ask, "field": "score"},
            {"name": "right", "judge": "acme/grader", "ask": ask, "field": "correct"},
        ]
    )
    assert bench.score("share", "red only") == Score(0.5, '{"score": 0.5, "correct": false}')
    assert bench.score("right", "red paint") == Score(1.0, '{"score": 1.0, "correct": true}')
    # Two judges on one model share its backend: the model was looked up once.
    assert len(bench.prepared.models) == 1
    assert emu.count("model") == 1


def test_a_reply_that_cannot_be_read_is_unscored_with_the_reply_as_its_note(
    emu: Emulator, bench_for: Any
) -> None:
    bench = bench_for([correct(ask={"prompt": "Answer: {output}"})])
    assert bench.score("correct", "red") == Score(None, "I cannot grade this.")


def test_a_judge_that_fails_then_succeeds_on_retry_is_scored(emu: Emulator, bench_for: Any) -> None:
    bench = bench_for([correct()])
    emu.add_fault(Fault("create", status=500, times=1))  # looked up (not there), then sent again
    assert bench.score("correct", "red") == Score(1.0, "A")
    assert emu.count("create") == 2
    assert len(emu.predictions) == 1
    (finished,) = [e for e in bench.judge_events() if e["event"] == "finished"]
    assert finished["result"]["attempts"] == 2


def test_a_judge_the_server_refuses_leaves_the_job_unscored_with_the_reason(
    emu: Emulator, bench_for: Any, tmp_path: Path
) -> None:
    bench = bench_for([correct(ask={"prompt": PROMPT, "max_tokens": "{_tokens} or so"})])
    score = bench.score("correct", "red")
    assert score.value is None
    assert score.note.startswith("the judge's prediction failed: ")
    assert "max_tokens" in score.note
    assert emu.count("create") == 1  # a 422 is not retried
    (finished,) = [e for e in bench.judge_events() if e["event"] == "finished"]
    assert finished["result"]["status"] == "failed"
    # A failed judge prediction is never reused: the next run of the folder asks again.
    run_dir = bench.folder.path
    bench.close()
    again = bench_for([correct(ask={"prompt": PROMPT, "max_tokens": "{_tokens} or so"})], run_dir=run_dir)
    assert again.score("correct", "red").value is None
    assert emu.count("create") == 2


def test_a_template_rendered_to_text_is_converted_to_the_judges_input_type(
    emu: Emulator, bench_for: Any
) -> None:
    bench = bench_for([correct(ask={"prompt": PROMPT, "max_tokens": "{_tokens}"})])
    assert bench.score("correct", "red") == Score(1.0, "A")
    (body,) = [r.body for r in emu.requests if r.endpoint == "create"]
    assert body["input"]["max_tokens"] == 4


def test_a_reply_in_the_journal_is_reused_by_the_next_run_of_the_folder(
    emu: Emulator, bench_for: Any
) -> None:
    first = bench_for([correct()])
    assert first.score("correct", "red") == Score(1.0, "A")
    run_dir = first.folder.path
    first.close()
    # Reading the reply differently keeps the key: the stored reply is read again, nothing created.
    second = bench_for([correct(choices={"A": 0.5, "B": 0})], run_dir=run_dir)
    assert second.score("correct", "red") == Score(0.5, "A")
    assert emu.count("create") == 1
    second.close()
    # A changed prompt is another key: one new prediction.
    third = bench_for([correct(ask={"prompt": PROMPT + " Be strict."})], run_dir=run_dir)
    assert third.score("correct", "red") == Score(1.0, "A")
    assert emu.count("create") == 2


def test_a_judge_prediction_a_stopped_run_created_is_picked_up_by_id(emu: Emulator, bench_for: Any) -> None:
    first = bench_for([correct()])
    assert first.score("correct", "red") == Score(1.0, "A")
    run_dir = first.folder.path
    first.close()
    # As if the run had died before the judge's result was journaled: drop the `finished` line.
    journal = run_dir / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(line for line in lines if '"finished"' not in line))
    second = bench_for([correct()], run_dir=run_dir)
    assert second.score("correct", "red") == Score(1.0, "A")
    assert emu.count("create") == 1  # fetched by its id, not created again
    assert emu.count("get") >= 1


def test_a_judge_entry_is_checked_like_a_model_before_anything_is_created(
    emu: Emulator, bench_for: Any, tmp_path: Path
) -> None:
    with pytest.raises(SpecError) as raised:
        bench_for([correct(judge={"ref": "acme/grader", "inptu": {}})])
    assert [str(p) for p in raised.value.problems] == [
        "spec: scorers[0].judge.inptu: unknown key `inptu` (did you mean `input`?)"
    ]
    bench = bench_for(
        [
            correct(judge={"ref": "acme/grader", "input": {"temperature": -1, "top_k": 5}}),
            {"name": "missing", "judge": "acme/nothing", "ask": {"prompt": "{output}"}, "choices": {"A": 1}},
            {"name": "asks", "judge": "acme/grader", "ask": {"promt": "{output}"}, "choices": {"A": 1}},
        ]
    )
    problems = [str(p) for p in bench.prepared.start()]
    assert problems[0].startswith("spec: scorers[1].judge: judge `nothing`: ")
    assert problems[1:] == [
        "spec: scorers[0].judge.input.temperature: `temperature` = -1 is below the minimum 0 "
        "for the judge `grader`",
        "spec: scorers[0].judge.input.top_k: the judge `grader` has no input `top_k`; "
        "its inputs are: prompt, max_tokens, temperature",
        "spec: scorers[2].ask.promt: the judge `grader` has no input `promt` (did you mean `prompt`?); "
        "its inputs are: prompt, max_tokens, temperature",
        "spec: scorers[2].ask: the judge `grader` requires the input `prompt`: give it in `ask:` or "
        "in its `input:`",
    ]
    assert emu.count("create") == 0


def test_the_bundled_cog_judge_grades_on_a_real_cog_server(bench_for: Any, tmp_path: Path) -> None:
    model = Path(shutil.copytree(JUDGE_MODEL, tmp_path / "models" / "judge"))
    score_ask = {"prompt": PROMPT.replace("Is the answer", "Score"), "mode": "score"}
    bench = bench_for(
        [
            {
                "name": "correct",
                "judge": {"cog": str(model)},
                "ask": {"prompt": PROMPT},
                "choices": {"A": 1, "B": 0},
            },
            {
                "name": "share",
                "judge": {"cog": str(model)},
                "ask": score_ask,
                "regex": r"Score: (\d+)/10",
                "scale": 10,
            },
        ],
        clock=Clock(),
    )
    assert bench.prepared.start() == []
    assert len(bench.prepared.models) == 1  # one server for both judges
    row = {**ROW, "_expected": "red sky"}
    assert bench.score("correct", "a red sky at night", row) == Score(1.0, "A")
    assert bench.score("correct", "a blue sky", row) == Score(0.0, "B")
    assert bench.score("share", "a blue sky", row) == Score(0.5, "Score: 5/10")
    finished = [e["result"] for e in bench.judge_events() if e["event"] == "finished"]
    assert [r["status"] for r in finished] == ["succeeded"] * 3
    assert all(r["prediction_id"] for r in finished)


def test_a_judge_on_a_deployment_runs_on_its_current_release(emu: Emulator, bench_for: Any) -> None:
    emu.add_deployment("acme", "grader-prod", emu.models["acme/grader"])
    bench = bench_for([correct(judge={"deployment": "acme/grader-prod", "input": {"max_tokens": 8}})])
    assert bench.prepared.start() == []
    assert bench.score("correct", "red") == Score(1.0, "A")
    (create,) = [r for r in emu.requests if r.endpoint == "create"]
    assert create.path == "/v1/deployments/acme/grader-prod/predictions"
    (finished,) = [e["result"] for e in bench.judge_events() if e["event"] == "finished"]
    assert finished["version"] == emu.models["acme/grader"].version_id
