"""Every deterministic kind on text and JSON outputs: whitespace, case, `field:` paths, non-numbers."""

from __future__ import annotations

import pytest

from replicate_batch.scoring import Score
from tests.scoring_helpers import build, score

ROW = {"id": "r1", "prompt": "a red bus", "_expected": "Red", "_number": 3.5, "_label": 4}


@pytest.mark.parametrize(
    ("entry", "output", "expected"),
    [
        # equals: surrounding whitespace stripped on both sides, case kept unless ignore_case
        ({"equals": "{_expected}"}, "Red", 1.0),
        ({"equals": "{_expected}"}, "  Red\n", 1.0),
        ({"equals": "  {_expected} "}, "Red", 1.0),
        ({"equals": "{_expected}"}, "red", 0.0),
        ({"equals": "{_expected}", "ignore_case": True}, "RED", 1.0),
        ({"equals": "{_expected}"}, "Red bus", 0.0),
        ({"equals": "{_expected}"}, "R ed", 0.0),
        ({"equals": "Red"}, "Red", 1.0),
        ({"equals": 4}, "4", 1.0),
        ({"equals": "{_label}"}, "4", 1.0),  # a number in the row compared as its text
        # contains
        ({"contains": "{_expected}"}, "A Red bus", 1.0),
        ({"contains": "{_expected}"}, "a red bus", 0.0),
        ({"contains": "{_expected}", "ignore_case": True}, "a RED bus", 1.0),
        ({"contains": " bus "}, "a red bus", 1.0),
        ({"contains": "car"}, "a red bus", 0.0),
        # one_of: items are literal, the whole (stripped) output must be one of them
        ({"one_of": ["positive", "negative"]}, " negative\n", 1.0),
        ({"one_of": ["positive", "negative"]}, "Negative", 0.0),
        ({"one_of": ["positive", "negative"], "ignore_case": True}, "Negative", 1.0),
        ({"one_of": ["positive", "negative"]}, "negative!", 0.0),
        ({"one_of": ["{_expected}"]}, "Red", 0.0),  # not a template
        ({"one_of": ["{_expected}"]}, "{_expected}", 1.0),
        # regex: re.search on the stripped output, the pattern literal
        ({"regex": r"^(positive|negative)\b"}, "  positive, mostly", 1.0),
        ({"regex": r"^(positive|negative)\b"}, "mostly positive", 0.0),
        ({"regex": r"\d{3}"}, "call 911 now", 1.0),
        ({"regex": r"now$"}, "call 911 now \n", 1.0),
        ({"regex": r"(?i)^POSITIVE"}, "positive", 1.0),
        ({"regex": "{_expected}"}, "Red", 0.0),
        # close_to
        ({"close_to": "{_number}"}, "3.5", 1.0),
        ({"close_to": "{_number}"}, " 3.50 \n", 1.0),
        ({"close_to": "{_number}"}, "3.6", 0.0),
        ({"close_to": "{_number}", "tolerance": 0.1}, "3.6", 1.0),  # 0.1 apart in decimal
        ({"close_to": "{_number}", "tolerance": 0.1}, "3.4", 1.0),
        ({"close_to": "{_number}", "tolerance": 0.1}, "3.61", 0.0),
        ({"close_to": 1.0, "tolerance": 0.05}, "1.05", 1.0),
        ({"close_to": "1e3"}, "1000", 1.0),
        ({"close_to": "-2"}, "-2.0", 1.0),
        ({"close_to": "{_label}"}, "4", 1.0),
    ],
)
def test_deterministic_kinds_on_text_outputs(entry: dict[str, object], output: str, expected: float) -> None:
    assert score(build(entry), output, row=ROW) == Score(expected)


@pytest.mark.parametrize(
    "output",
    ["three", "", "3.5 apples", "nan", "inf", "-Infinity", "1_000", "0x10", "true", "3,5", "1.2.3"],
)
def test_close_to_leaves_an_output_that_is_not_a_number_unscored(output: str) -> None:
    result = score(build({"close_to": "3.5"}), output)
    assert result is not None and result.value is None
    assert result.note.startswith("the output is not a number")


def test_close_to_leaves_an_expected_value_that_is_not_a_number_unscored() -> None:
    result = score(build({"close_to": "{_expected}"}), "3", row=ROW)
    assert result == Score(None, "the expected value is not a number: 'Red'")


@pytest.mark.parametrize(
    ("output", "expected"),
    [(4, 1.0), (4.0, 1.0), (4.2, 0.0), (True, None), ("4", 1.0), (None, None), ([4], None)],
)
def test_close_to_on_json_values(output: object, expected: float | None) -> None:
    result = score(build({"close_to": "4"}), output)
    assert result is not None and result.value == expected


@pytest.mark.parametrize(
    ("entry", "output", "expected"),
    [
        ({"equals": "{_expected}", "field": "label"}, {"label": "Red", "score": 0.9}, 1.0),
        ({"equals": "{_expected}", "field": "label"}, {"label": " red ", "score": 0.9}, 0.0),
        ({"equals": "{_expected}", "field": "label", "ignore_case": True}, {"label": " red "}, 1.0),
        ({"equals": "{_expected}", "field": "scores.0.label"}, {"scores": [{"label": "Red"}]}, 1.0),
        ({"equals": "{_expected}", "field": "scores.1.label"}, {"scores": [{}, {"label": "Red"}]}, 1.0),
        ({"equals": "Red", "field": "0"}, ["Red", "Blue"], 1.0),
        ({"equals": "Blue", "field": "-1"}, ["Red", "Blue"], 1.0),
        ({"equals": "true", "field": "ok"}, {"ok": True}, 1.0),  # JSON values compared as their JSON text
        ({"equals": "4", "field": "n"}, {"n": 4}, 1.0),
        ({"contains": "Re", "field": "label"}, {"label": "Red"}, 1.0),
        ({"one_of": ["Red", "Blue"], "field": "label"}, {"label": "Blue"}, 1.0),
        ({"regex": "^R", "field": "a.b"}, {"a": {"b": "Rose"}}, 1.0),
        ({"close_to": "{_number}", "field": "value"}, {"value": 3.5}, 1.0),
        ({"close_to": "{_number}", "field": "value", "tolerance": 0.5}, {"value": 4}, 1.0),
        ({"close_to": "{_number}", "field": "value"}, {"value": "3.5"}, 1.0),
        ({"json_schema": {"type": "string"}, "field": "label"}, {"label": "Red"}, 1.0),
        ({"json_schema": {"type": "integer"}, "field": "label"}, {"label": "Red"}, 0.0),
    ],
)
def test_field_reads_a_field_of_a_json_output_first(
    entry: dict[str, object], output: object, expected: float
) -> None:
    assert score(build(entry), output, row=ROW) == Score(expected)


def test_field_reads_json_written_as_text() -> None:
    scorer = build({"equals": "Red", "field": "label"})
    assert score(scorer, ' {"label": "Red"} ') == Score(1.0)


@pytest.mark.parametrize(
    ("output", "note"),
    [
        ({"label": "Red"}, "no field `scores.0.label` in the output"),
        ({"scores": []}, "no field `scores.0.label` in the output"),
        ({"scores": [{"name": "Red"}]}, "no field `scores.0.label` in the output"),
        ({"scores": {"0": {"label": "Red"}}}, ""),  # a key named "0" of an object is found
        ({"scores": [["Red"]]}, "no field `scores.0.label` in the output"),
        ({"scores": "Red"}, "no field `scores.0.label` in the output"),
        ([1, 2], "no field `scores.0.label` in the output"),
        ("Red", "the output is not JSON, so it has no field `scores.0.label`"),
        ("", "the output is not JSON, so it has no field `scores.0.label`"),
    ],
)
def test_a_missing_field_leaves_the_job_unscored(output: object, note: str) -> None:
    result = score(build({"equals": "Red", "field": "scores.0.label"}), output)
    assert result == (Score(1.0) if not note else Score(None, note))


@pytest.mark.parametrize(
    ("schema", "output", "expected"),
    [
        ({}, {"label": "x"}, 1.0),
        ({}, [1, 2], 1.0),
        ({}, 3, 1.0),
        ({}, "not json", 0.0),
        ({}, '{"label": "x"}', 1.0),  # JSON written as text
        ({}, '{"label": ', 0.0),
        ({"type": "object", "required": ["label"]}, {"label": "x"}, 1.0),
        ({"type": "object", "required": ["label"]}, {"name": "x"}, 0.0),
        ({"type": "object", "required": ["label"]}, '{"label": 1}', 1.0),
        ({"type": "object", "required": ["label"]}, ["label"], 0.0),
        ({"type": "array", "prefixItems": [{"type": "string"}], "items": False}, ["a"], 1.0),  # 2020-12
        ({"type": "array", "prefixItems": [{"type": "string"}], "items": False}, ["a", "b"], 0.0),
        (True, "anything at all", 0.0),  # text that is not JSON is not valid JSON
        (True, "null", 1.0),
        (False, {"label": "x"}, 0.0),
    ],
)
def test_json_schema_validates_with_draft_2020_12(schema: object, output: object, expected: float) -> None:
    assert score(build({"json_schema": schema}), output) == Score(expected)


def test_json_schema_with_a_reference_it_cannot_resolve_leaves_the_job_unscored() -> None:
    result = score(build({"json_schema": {"$ref": "https://example.invalid/schema.json"}}), {"a": 1})
    assert result is not None and result.value is None
    assert result.note.startswith("the schema could not be checked")


def test_a_scorer_limited_to_some_models_does_not_apply_to_the_others() -> None:
    scorer = build({"equals": "Red", "models": ["caption", "words"]})
    assert score(scorer, "Red", model="caption") == Score(1.0)
    assert score(scorer, "Red", model="words") == Score(1.0)
    assert score(scorer, "Red", model="pattern") is None


def test_a_template_value_missing_from_a_row_leaves_the_job_unscored() -> None:
    result = score(build({"equals": "{_expected}"}), "Red", row={"id": "7", "prompt": "x"})
    assert result == Score(None, "this row has no field `_expected`")


def test_templates_see_the_whole_output_even_when_field_picks_a_part() -> None:
    scorer = build({"equals": "{output.expected}", "field": "answer"})
    assert score(scorer, {"answer": "B", "expected": "B"}) == Score(1.0)
    assert score(scorer, {"answer": "A", "expected": "B"}) == Score(0.0)
    assert score(scorer, {"answer": "A"}) == Score(None, "no field `expected` in the output")


def test_a_null_row_value_is_empty_text() -> None:
    scorer = build({"equals": "[{_expected}]"})
    assert score(scorer, "[]", row={"_expected": None}) == Score(1.0)
