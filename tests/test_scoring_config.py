"""`scorers:` checked at the edge: typed entries, and every mistake reported at once with its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import replicate_batch.scoring as scoring
from replicate_batch.scoring import (
    CloseToEntry,
    ContainsEntry,
    EqualsEntry,
    JsonSchemaEntry,
    Judge,
    JudgeEntry,
    OneOfEntry,
    PythonEntry,
    RegexEntry,
    Scorer,
    parse_scorers,
)
from replicate_batch.spec.strict_yaml import load_yaml
from tests.scoring_helpers import MODELS, ROW_FIELDS

DESIGN_EXAMPLE = r"""
scorers:
  - name: label
    equals: "{_expected}"
    models: [caption]
    field: label
    ignore_case: true
    threshold: 0.8
  - contains: "{_expected}"
  - regex: '^(positive|negative|neutral)\b'
  - one_of: [positive, negative, neutral]
  - close_to: "{_expected}"
    tolerance: 0.05
  - json_schema: {type: object, required: [label]}
  - python: scorers.py:exact_label
  - name: correct
    judge: {ref: meta/meta-llama-3-70b-instruct, input: {max_tokens: 4, temperature: 0}}
    ask: {prompt: "Reference: {_expected}\nAnswer: {output}\nIs the answer correct? Reply A (yes) or B (no)."}
    choices: {A: 1, B: 0}
"""


def parse(raw: Any, spec_dir: Path | None = None) -> tuple[tuple[Any, ...], list[str]]:
    scorers, problems = parse_scorers(
        raw,
        spec_dir=spec_dir or Path.cwd(),
        model_names=MODELS,
        row_fields=ROW_FIELDS,
        source="eval.yaml",
    )
    return scorers, [str(p) for p in problems]


def test_the_design_example_parses_into_typed_frozen_entries(tmp_path: Path) -> None:
    (tmp_path / "scorers.py").write_text(
        "def exact_label(output, row):\n    return output == row['_expected']\n"
    )
    scorers, problems = parse(load_yaml(DESIGN_EXAMPLE)["scorers"], tmp_path)
    assert problems == []
    entries = [scorer.entry for scorer in scorers]
    assert [type(e) for e in entries] == [
        EqualsEntry,
        ContainsEntry,
        RegexEntry,
        OneOfEntry,
        CloseToEntry,
        JsonSchemaEntry,
        PythonEntry,
        JudgeEntry,
    ]
    assert [s.name for s in scorers] == [
        "label", "contains", "regex", "one_of", "close_to", "json_schema", "python", "correct",
    ]  # fmt: skip
    assert [s.place for s in scorers] == [f"scorers[{i}]" for i in range(8)]
    assert [type(s) for s in scorers] == [Scorer] * 7 + [Judge]
    label = entries[0]
    assert isinstance(label, EqualsEntry)
    assert (label.models, label.field, label.ignore_case, label.threshold) == (
        ("caption",),
        "label",
        True,
        0.8,
    )
    close = entries[4]
    assert isinstance(close, CloseToEntry) and close.tolerance == 0.05
    judge = entries[7]
    assert isinstance(judge, JudgeEntry)
    assert judge.judge == {
        "ref": "meta/meta-llama-3-70b-instruct",
        "input": {"max_tokens": 4, "temperature": 0},
    }
    assert judge.choices == {"A": 1.0, "B": 0.0}
    with pytest.raises(ValueError, match="frozen"):
        label.threshold = 0.5  # type: ignore[misc]


def test_no_scorers() -> None:
    assert parse(None) == ((), [])
    assert parse([]) == ((), [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"equals": "x"},
            'scorers: expected a list of scorers, each a mapping with one kind, got {"equals": "x"}',
        ),
        (
            [5],
            "scorers[0]: expected a scorer: a mapping with one of equals, contains, regex, one_of, close_to, "
            "json_schema, python, judge, got 5",
        ),
        (
            [{"name": "x"}],
            "scorers[0]: no kind: give exactly one of equals, contains, regex, one_of, close_to, "
            "json_schema, python, judge",
        ),
        (
            [{"equals": "a", "contains": "b"}],
            "scorers[0]: 2 kinds (`equals`, `contains`): a scorer has exactly one kind; make it 2 scorers",
        ),
        (
            [{"judge": "a/b", "ask": {"p": "x"}, "choices": {"A": 1}, "equals": "x"}],
            "scorers[0]: 2 kinds (`judge`, `equals`)",
        ),
        (
            [{"equals": "a", "treshold": 1}],
            "scorers[0].treshold: unknown key `treshold` (did you mean `threshold`?)",
        ),
        ([{"equal": "a"}], "scorers[0].equal: unknown key `equal` (did you mean `equals`?)"),
        (
            [{"regex": "a", "ignore_case": True}],
            "scorers[0].ignore_case: `ignore_case` goes only with equals, "
            "contains and one_of; in a regex, write `(?i)` at its start",
        ),
        (
            [{"close_to": "a", "ignore_case": True}],
            "scorers[0].ignore_case: `ignore_case` goes only with equals",
        ),
        (
            [{"judge": "a/b", "ask": {"p": "x"}, "choices": {"A": 1}, "ignore_case": True}],
            "scorers[0].ignore_case: `ignore_case` goes only with equals, contains and one_of",
        ),
        ([{"equals": "1", "tolerance": 0.1}], "scorers[0].tolerance: `tolerance` goes only with close_to"),
        ([{"equals": "1", "choices": {"A": 1}}], "scorers[0].choices: `choices` goes only with judge"),
        (
            [{"equals": "a"}, {"equals": "b"}],
            "scorers[1]: the scorer name 'equals' is already used by scorers[0]: give one of them a `name:`",
        ),
        (
            [{"equals": "a", "name": "x"}, {"contains": "b", "name": "x"}],
            "scorers[1].name: the scorer name 'x' is already used by scorers[0]",
        ),
        ([{"equals": "a", "name": "my label"}], "scorers[0].name: expected letters, digits, '.', '_' or '-'"),
        (
            [{"equals": "a", "models": ["captoin"]}],
            "scorers[0].models[0]: no model is named 'captoin' (did you mean `caption`?)",
        ),
        (
            [{"equals": "a", "models": ["gpt"]}],
            "scorers[0].models[0]: no model is named 'gpt': the models are caption, words, pattern",
        ),
        (
            [{"equals": "a", "models": "caption"}],
            "scorers[0].models: expected a list of model names, such as `[caption]`, got 'caption'",
        ),
        (
            [{"equals": "a", "models": []}],
            "scorers[0].models: expected a list of model names, such as `[caption]`, got an empty list",
        ),
        (
            [{"regex": "(unclosed"}],
            "scorers[0].regex: invalid regex: missing ), unterminated subpattern at position 0",
        ),
        ([{"regex": 5}], None),  # a number is a pattern too: `5`
        (
            [{"one_of": []}],
            "scorers[0].one_of: expected a list of accepted answers, such as `[positive, negative]`, "
            "got an empty list",
        ),
        ([{"one_of": ["a", {"b": 1}]}], 'scorers[0].one_of[1]: expected text or a number, got {"b": 1}'),
        ([{"equals": ["a"]}], 'scorers[0].equals: expected text or a number, got ["a"]'),
        ([{"equals": True}], "scorers[0].equals: expected text or a number, got true"),
        (
            [{"equals": "{_expcted}"}],
            "scorers[0].equals: `{_expcted}`: no row has a field `_expcted` (did you mean `_expected`?)",
        ),
        ([{"contains": "{zzz}"}], "scorers[0].contains: `{zzz}`: no row has a field `zzz`"),
        (
            [{"close_to": "{_numbr}"}],
            "scorers[0].close_to: `{_numbr}`: no row has a field `_numbr` (did you mean `_number`?)",
        ),
        ([{"equals": "{id}: {output} {output.a.b}"}], None),
        (
            [{"equals": "{_expected"}],
            "scorers[0].equals: a `{` at character 1 is not closed: write `{{` for a literal brace",
        ),
        (
            [{"equals": "a", "field": "scores..label"}],
            "scorers[0].field: expected a dot path such as `scores.0.label`, got 'scores..label'",
        ),
        ([{"equals": "a", "threshold": "high"}], "scorers[0].threshold: expected a number, got 'high'"),
        ([{"equals": "a", "threshold": True}], "scorers[0].threshold: expected a number, got true"),
        (
            [{"equals": "a", "ignore_case": "maybe"}],
            "scorers[0].ignore_case: expected true or false, got 'maybe'",
        ),
        ([{"close_to": 1, "tolerance": -1}], "scorers[0].tolerance: expected 0 or more, got -1"),
        (
            [{"json_schema": {"type": "strin"}}],
            "scorers[0].json_schema: not a valid JSON Schema (draft 2020-12) "
            "at `type`: 'strin' is not valid under any of the given schemas",
        ),
        (
            [{"json_schema": [1]}],
            "scorers[0].json_schema: expected a JSON Schema (a mapping; `{}` accepts any JSON), got [1]",
        ),
        (
            [{"python": "scorers.py"}],
            "scorers[0].python: expected `FILE.py:FUNCTION`, such as "
            "`scorers.py:exact_label`, got 'scorers.py'",
        ),
        ([{"python": "scorers.txt:f"}], "scorers[0].python: expected `FILE.py:FUNCTION`"),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}}],
            "scorers[0]: a judge's reply is read by exactly one of choices, regex or field: got none",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "choices": {"A": 1}, "field": "score"}],
            "scorers[0]: "
            "a judge's reply is read by exactly one of choices, regex or field: got choices and field",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "regex": r"\d+"}],
            "scorers[0].regex: the judge's regex needs a group around the number, such as `(\\d+)`",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "regex": "(1"}],
            "scorers[0].regex: invalid regex: ",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "field": "score", "scale": 10}],
            "scorers[0]: `scale` goes with `regex`: it divides the number the regex reads",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "regex": "(\\d)", "scale": 0}],
            "scorers[0].scale: expected more than 0, got 0",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "choices": {"A": "yes"}}],
            "scorers[0].choices.A: expected a number, got 'yes'",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "choices": {"A": True}}],
            "scorers[0].choices.A: expected a number, got true",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "choices": {}}],
            "scorers[0].choices: expected a mapping of reply words to numbers, such as `{A: 1, B: 0}`",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output}"}, "choices": ["A"]}],
            "scorers[0].choices: expected a "
            'mapping of reply words to numbers, such as `{A: 1, B: 0}`, got ["A"]',
        ),
        (
            [{"judge": 5, "ask": {"prompt": "{output}"}, "choices": {"A": 1}}],
            "scorers[0].judge: expected a model "
            "entry: a ref string or a mapping with one of ref/cog/url/deployment, got 5",
        ),
        (
            [{"judge": "a/b", "choices": {"A": 1}}],
            "scorers[0].ask: required but missing: a mapping of the judge's input names to values",
        ),
        (
            [{"judge": "a/b", "ask": {}, "choices": {"A": 1}}],
            "scorers[0].ask: expected the judge's input fields",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{_expectd} {output}"}, "choices": {"A": 1}}],
            "scorers[0].ask.prompt: `{_expectd}`: no row has a field `_expectd` (did you mean `_expected`?)",
        ),
        (
            [{"judge": "a/b", "ask": {"prompt": "{output"}, "choices": {"A": 1}}],
            "scorers[0].ask.prompt: a `{` at character 1 is not closed",
        ),
        (
            [
                {
                    "judge": "a/b",
                    "ask": {"prompt": "{output}", "max_tokens": 4, "stop": ["{x}"]},
                    "choices": {"A": 1},
                }
            ],
            None,
        ),  # only strings are templates
        (
            [{"judge": "a/b", "ask": {"prompt": "x"}, "choices": {"A": 1}, "tolerance": 1}],
            "scorers[0].tolerance: `tolerance` goes only with close_to",
        ),
        ([{1: "x", "equals": "a"}], "scorers[0]: the key 1 is not text: put it in quotes"),
    ],
)
def test_each_mistake_is_named_with_its_place(raw: Any, expected: str | None) -> None:
    scorers, problems = parse(raw)
    if expected is None:
        assert problems == [] and len(scorers) == len(raw)
    else:
        assert any(p.startswith("eval.yaml: " + expected) for p in problems), problems
        assert scorers == ()


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "scorers.py").write_text("def exact_label(output):\n    return 1\n")
    raw = [
        {"name": "label", "equals": "{_expected}", "models": ["caption"]},
        {"contains": "{_expcted}", "models": ["wrds"], "treshold": 0.5},
        {"regex": "(oops", "ignore_case": True},
        {"one_of": ["a"], "equals": "b"},
        {"python": "scorers.py:exact_labl"},
        {"python": "nowhere.py:f", "name": "other"},
        {"name": "label", "close_to": "{_number}", "tolerance": "wide"},
        {
            "name": "judged",
            "judge": "meta/llama",
            "ask": {"prompt": "{_expectd} vs {output}"},
            "regex": "score",
        },
    ]
    scorers, problems = parse(raw, tmp_path)
    assert scorers == ()
    assert problems == [
        "eval.yaml: scorers[1].treshold: unknown key `treshold` (did you mean `threshold`?)",
        "eval.yaml: scorers[1].models[0]: no model is named 'wrds' (did you mean `words`?)",
        "eval.yaml: scorers[1].contains: `{_expcted}`: no row has a field `_expcted` "
        "(did you mean `_expected`?)",
        "eval.yaml: scorers[2].ignore_case: `ignore_case` goes only with equals, contains and one_of; "
        "in a regex, write `(?i)` at its start",
        "eval.yaml: scorers[2].regex: invalid regex: missing ), unterminated subpattern at position 0",
        "eval.yaml: scorers[3]: 2 kinds (`equals`, `one_of`): a scorer has exactly one kind; "
        "make it 2 scorers",
        "eval.yaml: scorers[4].python: scorers.py has no function `exact_labl` (did you mean `exact_label`?)",
        f"eval.yaml: scorers[5].python: no such file: {tmp_path.resolve() / 'nowhere.py'}",
        "eval.yaml: scorers[6].tolerance: expected a number, got 'wide'",
        "eval.yaml: scorers[6].name: the scorer name 'label' is already used by scorers[0]: "
        "give one of them a `name:`",
        "eval.yaml: scorers[7].regex: the judge's regex needs a group around the number, such as `(\\d+)`: "
        "'score'",
        "eval.yaml: scorers[7].ask.prompt: `{_expectd}`: no row has a field `_expectd` "
        "(did you mean `_expected`?)",
    ]


def test_names_default_to_the_kind_and_id_is_always_a_row_field() -> None:
    scorers, problems = parse([{"equals": "{id}"}, {"name": "second", "equals": "{id}"}])
    assert problems == []
    assert [s.name for s in scorers] == ["equals", "second"]


def test_place_prefix_names_where_the_list_came_from() -> None:
    _, problems = parse_scorers(
        [{"equals": "a", "colour": 1}],
        spec_dir=Path.cwd(),
        model_names=MODELS,
        row_fields=ROW_FIELDS,
        source="new.yaml",
        place_prefix="spec.scorers",
    )
    assert [str(p) for p in problems] == [
        "new.yaml: spec.scorers[0].colour: unknown key `colour`: the keys of a scorer are name, models, "
        "threshold, field, equals, ignore_case, contains, regex, one_of, close_to, tolerance, json_schema, "
        "python, judge, ask, choices, scale"
    ]


def test_exported_members_are_documented_and_exist() -> None:
    for name in scoring.__all__:
        assert getattr(scoring, name).__doc__, name
    public = {n for n in dir(scoring) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(scoring, n)).__name__ == "module"}
    assert public - modules == set(scoring.__all__)
