"""The bundled `examples/models/judge` model, served by Cog's real HTTP server (cog 0.23.1 / coglet).

One server for the module: each test posts a prediction to it and reads the reply, as a judge scorer
will. The prompts are shaped like the judge prompts of design.md section 5.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from replicate_batch.backends.cog_process import CogProcess
from replicate_batch.backends.cog_schema import SCHEMA_PATH, write_openapi_schema

JUDGE = Path(__file__).resolve().parents[1] / "examples" / "models" / "judge"
QUESTION = "Is the answer correct? Reply A (yes) or B (no)."


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CogProcess]:
    """A running server of a private copy of the judge model."""
    folder = tmp_path_factory.mktemp("models") / "judge"
    shutil.copytree(JUDGE, folder)
    server = CogProcess(folder, label="judge", startup_deadline_s=60)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def predict(server: CogProcess, **inputs: Any) -> requests.Response:
    # the server has one slot, freed a moment after its previous answer: wait for it (bounded)
    deadline = time.monotonic() + 5
    while server.health().get("status") != "READY":
        assert time.monotonic() < deadline, "the judge server was not READY within 5s"
        time.sleep(0.01)
    return requests.post(f"{server.url}/predictions", json={"input": inputs}, timeout=20)


def reply(server: CogProcess, **inputs: Any) -> str:
    response = predict(server, **inputs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded", body
    output = body["output"]
    assert isinstance(output, str)
    return output


def judge_prompt(reference: str, answer: str) -> str:
    return f"Reference: {reference}\nAnswer: {answer}\n{QUESTION}"


def test_every_reference_word_in_the_answer_is_a(judge: CogProcess) -> None:
    prompt = judge_prompt("White fridge", "A fridge, mostly WHITE, with milk.")
    assert reply(judge, prompt=prompt) == "A"


def test_a_missing_word_is_b_and_parts_of_words_do_not_count(judge: CogProcess) -> None:
    assert reply(judge, prompt=judge_prompt("white fridge", "a white wall")) == "B"
    assert reply(judge, prompt=judge_prompt("red", "a reddish wall")) == "B"


def test_score_mode_replies_the_share_of_reference_words_found(judge: CogProcess) -> None:
    prompt = judge_prompt("red green blue", "Red and blue stripes.")
    assert reply(judge, prompt=prompt, mode="score") == "Score: 7/10"  # 2 of 3 words: 6.67 -> 7
    assert reply(judge, prompt=judge_prompt("red green", "green"), mode="score") == "Score: 5/10"
    assert reply(judge, prompt=judge_prompt("red", "blue"), mode="score") == "Score: 0/10"
    assert reply(judge, prompt=judge_prompt("red", "RED"), mode="score") == "Score: 10/10"


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        ("Is a white fridge white? Reply A or B.", "no Reference: or Answer: line"),
        ("Reference: white\nIs it white?", "no Answer: line"),
        ("Reference: ...\nAnswer: white", "Reference: line has no words"),
    ],
)
def test_an_unreadable_prompt_gets_a_reply_with_no_grade_in_it(
    judge: CogProcess, prompt: str, says: str
) -> None:
    for mode in ("choice", "score"):
        text = reply(judge, prompt=prompt, mode=mode)
        assert says in text
        assert not re.search(r"\b[AB]\b", text), text  # what `choices: {A: 1, B: 0}` would read
        assert not re.search(r"\d", text), text  # and what a score regex would


def test_the_server_refuses_an_unknown_mode(judge: CogProcess) -> None:
    response = predict(judge, prompt=judge_prompt("red", "red"), mode="verbose")
    assert response.status_code == 422
    assert "verbose" in response.text


def test_the_shipped_schema_is_what_cog_schema_writes(tmp_path: Path) -> None:
    folder = tmp_path / "judge"
    shutil.copytree(JUDGE, folder)
    (folder / SCHEMA_PATH).unlink()
    written = write_openapi_schema(folder)
    assert json.loads(written.read_text()) == json.loads((JUDGE / SCHEMA_PATH).read_text())
