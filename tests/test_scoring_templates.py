"""Templates (`{name}`, `{output}`, `{output.a.b}`, `{{ }}`) and dot paths into JSON outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from replicate_batch.scoring import Score, row_fields
from replicate_batch.scoring.facts import JobFacts, filler
from replicate_batch.scoring.fields import MISSING, as_text, read_path
from replicate_batch.scoring.template import (
    OutputField,
    RowField,
    TemplateError,
    parse_template,
    render,
)

ROW = {"id": "r1", "prompt": "a bus", "_expected": "red", "n": 4, "ok": True, "tags": ["a", "b"]}


def rendered(text: str, output: Any = "the answer", row: dict[str, Any] = ROW) -> str | Score:
    """The template rendered; scorers' quicker `filler` must fill it the same."""
    output_text = output if isinstance(output, str) else json.dumps(output)
    template = parse_template(text)
    facts = JobFacts.of(output_text=output_text, output_value=output, row=row, input={}, files=(), model="m")
    text_or_score = render(template, row=row, output_text=output_text, output_value=output)
    assert filler(template)(facts) == text_or_score
    return text_or_score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{_expected}", "red"),
        ("Reference: {_expected}\nAnswer: {output}", "Reference: red\nAnswer: the answer"),
        ("{id}/{prompt}", "r1/a bus"),
        ("{n} words", "4 words"),
        ("{ok}", "true"),
        ("{tags}", '["a", "b"]'),
        ("no fields at all", "no fields at all"),
        ("", ""),
        ("{{_expected}}", "{_expected}"),
        ("{{{_expected}}}", "{red}"),
        ('Reply as JSON: {{"label": "{_expected}"}}', 'Reply as JSON: {"label": "red"}'),
        ("}}{{", "}{"),
    ],
)
def test_templates_render_row_fields_and_the_output(text: str, expected: str) -> None:
    assert rendered(text) == expected


def test_output_fields_render_from_a_json_output() -> None:
    output = {"label": "cat", "scores": [{"p": 0.25}, {"p": 0.75}], "ok": False}
    assert rendered("{output.label}: {output.scores.1.p} {output.ok}", output) == "cat: 0.75 false"
    assert rendered("{output.scores.0}", output) == '{"p": 0.25}'
    assert rendered("{output}", output) == json.dumps(output)


def test_output_fields_render_from_json_written_as_text() -> None:
    assert rendered("{output.label}", '{"label": "cat"}') == "cat"


@pytest.mark.parametrize(
    ("text", "output", "note"),
    [
        ("{output.label}", {"name": "cat"}, "no field `label` in the output"),
        ("{output.scores.2.p}", {"scores": [{"p": 1}]}, "no field `scores.2.p` in the output"),
        ("{output.label}", "plain text", "the output is not JSON, so it has no field `label`"),
        ("{_missing}", "x", "this row has no field `_missing`"),
    ],
)
def test_a_value_that_is_missing_when_rendering_leaves_the_job_unscored(
    text: str, output: Any, note: str
) -> None:
    assert rendered(text, output) == Score(None, note)


def test_parsing_lists_the_row_fields_a_template_names_once_each() -> None:
    template = parse_template("{a} {output} {output.x.0} {b} {a} {{c}}")
    assert template.row_fields() == ("a", "b")
    assert template.parts == (
        RowField("a"),
        " ",
        OutputField(None),
        " ",
        OutputField("x.0"),
        " ",
        RowField("b"),
        " ",
        RowField("a"),
        " {c}",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "a `{` at character 1 is not closed: write `{{` for a literal brace"),
        ("a {b", "a `{` at character 3 is not closed"),
        ("{a {b}", "a `{` at character 1 is not closed"),
        ("a } b", "a lone `}` at character 3: write `}}` for a literal brace"),
        ("{a}}", "a lone `}` at character 4"),
        ("{}", "an empty `{}`: name a row field, or write `{{}}` for literal braces"),
        ("{output.}", "`{output.}`: expected a dot path such as `{output.scores.0.label}`"),
        ("{output.a..b}", "`{output.a..b}`: expected a dot path"),
    ],
)
def test_a_template_that_cannot_be_parsed_says_what_to_write(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        ({"scores": [{"label": "x"}]}, "scores.0.label", "x"),
        ([{"a": 1}, {"a": 2}], "1.a", 2),
        ([1, 2, 3], "-1", 3),
        ({"a": {"b": None}}, "a.b", None),
        ({"0": "zero"}, "0", "zero"),
        ({"a": [1]}, "a.1", MISSING),
        ({"a": [1]}, "a.x", MISSING),
        ({"a": 1}, "a.b", MISSING),
        ({"a": "text"}, "a.0", MISSING),
        ("text", "a", MISSING),
        (None, "a", MISSING),
    ],
)
def test_dot_paths_read_objects_and_lists(value: Any, path: str, expected: Any) -> None:
    assert read_path(value, path) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (None, ""),
        (True, "true"),
        (4, "4"),
        (0.5, "0.5"),
        ([1, "é"], '[1, "é"]'),
        ({"a": 1}, '{"a": 1}'),
    ],
)
def test_values_as_text_are_json_except_text_and_null(value: Any, text: str) -> None:
    assert as_text(value) == text


def test_a_rows_fields_are_its_id_values_and_metadata() -> None:
    from replicate_batch.rows.rowset import Row

    row = Row(id="fridge", values={"prompt": "hi", "n": 4}, metadata={"_expected": "x"}, place="inputs[0]")
    assert row_fields(row) == {"id": "fridge", "prompt": "hi", "n": 4, "_expected": "x"}
