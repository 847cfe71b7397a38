"""The judge seam: the input a judge is sent, how its reply is read, and the key of its prediction."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.scoring import (
    Score,
    applies_to,
    is_binary,
    judge_cache_key,
    read_reply,
    render_judge_input,
    score_job,
)
from tests.scoring_helpers import build, build_judge

ASK = {"prompt": "Reference: {_expected}\nAnswer: {output}\nReply A (yes) or B (no).", "max_tokens": 4}
ROW = {"id": "r1", "prompt": "colour?", "_expected": "red"}


def choices_judge(choices: dict[str, float], **extra: Any) -> Any:
    return build_judge({"name": "correct", "judge": "meta/llama", "ask": ASK, "choices": choices, **extra})


def test_the_judge_input_is_its_ask_with_templates_rendered_and_other_values_as_given() -> None:
    judge = build_judge(
        {
            "judge": {"ref": "meta/llama", "input": {"temperature": 0}},
            "ask": {
                "prompt": "{prompt} -> {output.answer} (want {_expected}) {{ok}}",
                "max_tokens": 4,
                "stop": ["{x}"],
            },
            "field": "score",
        }
    )
    sent = render_judge_input(
        judge, output_text='{"answer": "blue"}', output_value={"answer": "blue"}, row=ROW
    )
    assert sent == {"prompt": "colour? -> blue (want red) {ok}", "max_tokens": 4, "stop": ["{x}"]}


def test_a_judge_input_with_a_missing_value_is_unscored_and_sends_nothing() -> None:
    judge = build_judge({"judge": "a/b", "ask": {"prompt": "{output.answer}"}, "field": "score"})
    sent = render_judge_input(judge, output_text="plain", output_value="plain", row=ROW)
    assert sent == Score(None, "the output is not JSON, so it has no field `answer`")


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("A", 1.0),
        ("B", 0.0),
        ("  A\n", 1.0),
        ("The answer is A.", 1.0),
        ("B. Although one could say A.", 0.0),  # the key that appears first
        ("A, not B", 1.0),
        ("(B)", 0.0),
        ("Answer: B", 0.0),
        ("a", None),  # case-sensitive
        ("BAD", None),  # whole words only
        ("ABBA", None),
        ("I cannot tell.", None),  # "I" is not a key; no A or B as a word
        ("", None),
    ],
)
def test_choices_read_the_key_appearing_first_as_a_whole_word(reply: str, value: float | None) -> None:
    assert read_reply(choices_judge({"A": 1, "B": 0}), reply) == Score(value, reply)


def test_choices_prefer_the_longer_key_starting_at_the_same_place() -> None:
    judge = choices_judge({"yes": 1, "yes, mostly": 0.5, "no": 0})
    assert read_reply(judge, "yes, mostly. no") == Score(0.5, "yes, mostly. no")
    assert read_reply(judge, "yes, mostlyish") == Score(1.0, "yes, mostlyish")
    assert read_reply(judge, "no, yes") == Score(0.0, "no, yes")


def test_choices_keys_with_symbols_are_literal() -> None:
    judge = choices_judge({"A+": 1, "A": 0.5, "C++": 0.0})
    assert read_reply(judge, "Grade: A+") == Score(1.0, "Grade: A+")
    assert read_reply(judge, "Grade: A") == Score(0.5, "Grade: A")
    assert read_reply(judge, "C++ then") == Score(0.0, "C++ then")


@pytest.mark.parametrize(
    ("regex", "scale", "reply", "value"),
    [
        (r"(\d+)/10", 10, "Score: 7/10", 0.7),
        (r"(\d+)/10", None, "Score: 7/10", 7.0),
        (r"(\d+)/10", 10, "I give it 8/10, no 9/10", 0.8),  # the first match
        (r"score: (-?[\d.]+)", 4, "score: 3.0", 0.75),
        (r"(\d+)/10", 10, "no number here", None),
        (r"(\w+)$", None, "grade: excellent", None),  # group 1 is not a number
        (r"(\d+)?/10", None, "/10", None),  # group 1 did not take part
    ],
)
def test_regex_reads_group_one_as_a_number_divided_by_scale(
    regex: str, scale: float | None, reply: str, value: float | None
) -> None:
    extra = {"scale": scale} if scale is not None else {}
    judge = build_judge({"judge": "a/b", "ask": ASK, "regex": regex, **extra})
    assert read_reply(judge, reply) == Score(value, reply)


@pytest.mark.parametrize(
    ("field", "reply", "value"),
    [
        ("score", '{"score": 4}', 4.0),
        ("score", ' {"score": 0.5, "why": "ok"} ', 0.5),
        ("ok", '{"ok": true}', 1.0),
        ("ok", '{"ok": false}', 0.0),
        ("grades.1.ok", '{"grades": [{"ok": false}, {"ok": true}]}', 1.0),
        ("score", '```json\n{"score": 3}\n```', 3.0),  # fenced, as language models write JSON
        ("score", '```\n{"score": 3}```', 3.0),
        ("score", '{"score": "4"}', None),  # text, not a number
        ("score", '{"score": null}', None),
        ("score", '{"grade": 4}', None),
        ("score", "Score: 4", None),
        ("score", "", None),
        ("score", '{"score": NaN}', None),
    ],
)
def test_field_reads_a_number_or_bool_in_a_json_reply(field: str, reply: str, value: float | None) -> None:
    judge = build_judge({"judge": "a/b", "ask": ASK, "field": field})
    assert read_reply(judge, reply) == Score(value, reply)


def test_a_reply_that_is_a_json_value_is_read_as_it_is() -> None:
    judge = build_judge({"judge": "a/b", "ask": ASK, "field": "score"})
    assert read_reply(judge, {"score": 2}) == Score(2.0, '{"score": 2}')
    choices = choices_judge({"A": 1, "B": 0})
    assert read_reply(choices, ["B"]) == Score(0.0, '["B"]')


def test_the_cache_key_is_the_scorer_name_the_judge_entry_and_the_input_sent() -> None:
    judge = choices_judge({"A": 1, "B": 0})
    sent = {"prompt": "Reference: red\nAnswer: blue", "max_tokens": 4}
    key = judge_cache_key(judge, sent)
    # Stable across runs and processes: a hash of the canonical JSON of what it names.
    text = json.dumps(
        ["judge", "correct", {"ref": "meta/llama"}, sent], sort_keys=True, separators=(",", ":")
    )
    assert key == hashlib.sha256(text.encode()).hexdigest()[:32]
    assert key == judge_cache_key(judge, dict(reversed(sent.items())))
    # How the reply is read is not part of it.
    assert key == judge_cache_key(choices_judge({"A": 1, "B": 0.5, "C": 0}), sent)
    assert key == judge_cache_key(
        build_judge({"name": "correct", "judge": "meta/llama", "ask": ASK, "regex": "(\\d)"}), sent
    )
    # A short-form ref and its mapping form are the same entry.
    mapping = build_judge({"name": "correct", "judge": {"ref": "meta/llama"}, "ask": ASK, "field": "x"})
    assert key == judge_cache_key(mapping, sent)
    # Anything else that changes what is sent, or to whom, or under which name, is another prediction.
    assert key != judge_cache_key(judge, {**sent, "max_tokens": 5})
    assert key != judge_cache_key(judge, {**sent, "prompt": "Reference: red\nAnswer: Blue"})
    other_name = build_judge({"name": "correct2", "judge": "meta/llama", "ask": ASK, "choices": {"A": 1}})
    assert key != judge_cache_key(other_name, sent)
    other_entry = build_judge(
        {
            "name": "correct",
            "judge": {"ref": "meta/llama", "input": {"temperature": 0}},
            "ask": ASK,
            "field": "x",
        }
    )
    assert key != judge_cache_key(other_entry, sent)


def test_the_cache_key_was_not_changed_by_accident() -> None:
    judge = choices_judge({"A": 1, "B": 0})
    # Recorded once: judge predictions journaled by earlier runs are found by this key.
    assert judge_cache_key(judge, {"prompt": "p", "max_tokens": 4}) == "ebe8f1e83ce9ec5a095116349be4dc13"


def test_judges_are_binary_when_every_choice_is_zero_or_one(tmp_path: Path) -> None:
    assert is_binary(choices_judge({"A": 1, "B": 0}))
    assert is_binary(choices_judge({"yes": 1.0, "no": 0.0, "unsure": 0}))
    assert not is_binary(choices_judge({"A": 1, "B": 0.5}))
    assert not is_binary(build_judge({"judge": "a/b", "ask": ASK, "regex": r"(\d)"}))
    assert not is_binary(build_judge({"judge": "a/b", "ask": ASK, "field": "ok"}))
    assert is_binary(build({"equals": "x"}))
    assert is_binary(build({"json_schema": {}}))
    (tmp_path / "s.py").write_text("def f(output):\n    return 1\n")
    assert not is_binary(build({"python": "s.py:f"}, tmp_path))  # a python scorer may return any number


def test_a_judge_applies_to_the_models_it_names_and_is_not_scored_by_score_job() -> None:
    judge = choices_judge({"A": 1}, models=["words"])
    assert applies_to(judge, "words") and not applies_to(judge, "caption")
    with pytest.raises(TypeError, match="a judge needs a prediction"):
        score_job(judge, output_text="", output_value="", row={}, input={}, files=[], model="words")  # type: ignore[arg-type]
