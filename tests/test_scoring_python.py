"""`python: FILE.py:FUNCTION` scorers: loaded once, called with the arguments they name, never raising."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from replicate_batch.scoring import Score, parse_scorers
from replicate_batch.scoring.python import score_of
from tests.scoring_helpers import MODELS, ROW_FIELDS, build, score

SCORERS = """
import json
from pathlib import Path

with open(Path(__file__).with_name("loads.txt"), "a") as log:
    log.write("loaded\\n")


def exact_label(output, row):
    return output == row["_expected"]


def echo_model(model, output):
    return (1, f"{model}: {output}")


def echo_input(input):
    return 0.5, json.dumps(input, sort_keys=True)


def count_files(files, row):
    kinds = {type(f).__name__ for f in files}
    sizes = [f.read_text() for f in files]
    return len(files) == row["files_asked"], f"{sorted(kinds)} {sizes}"


def everything(**kwargs):
    return None, ",".join(sorted(kwargs))


def with_default(output, scale=10):
    return len(output) / scale


def divides(output):
    return 1 / len(output)


def quits(output):
    raise SystemExit(3)


def mutates(row, input):
    row["_expected"] = "changed"
    input.clear()
    return 1


def returns(output):
    return eval(output)
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "scorers.py").write_text(SCORERS)
    return tmp_path


def test_each_keyword_argument_is_given_as_named(spec_dir: Path) -> None:
    row = {"id": "r1", "_expected": "cat", "files_asked": 2}
    out = spec_dir / "out"
    out.mkdir()
    files = [out / "a.txt", out / "b.txt"]
    for index, file in enumerate(files):
        file.write_text(str(index))
    exact = build({"python": "scorers.py:exact_label"}, spec_dir)
    assert score(exact, "cat", row=row) == Score(1.0)
    assert score(exact, "dog", row=row) == Score(0.0)
    model = build({"python": "scorers.py:echo_model"}, spec_dir)
    assert score(model, "cat", model="words") == Score(1.0, "words: cat")
    sent = build({"python": "scorers.py:echo_input"}, spec_dir)
    assert score(sent, "x", input={"seed": 2, "prompt": "hi"}) == Score(0.5, '{"prompt": "hi", "seed": 2}')
    counted = build({"python": "scorers.py:count_files"}, spec_dir)
    assert score(counted, "", row=row, files=files) == Score(1.0, "['PosixPath'] ['0', '1']")
    assert score(counted, "", row=row, files=files[:1]) == Score(0.0, "['PosixPath'] ['0']")


def test_output_is_the_parsed_value_of_a_json_output_or_the_field_it_names(spec_dir: Path) -> None:
    scorer = build({"python": "scorers.py:echo_model"}, spec_dir)
    assert score(scorer, {"label": "cat"}) == Score(1.0, "caption: {'label': 'cat'}")
    picked = build({"python": "scorers.py:echo_model", "name": "picked", "field": "label"}, spec_dir)
    assert score(picked, {"label": "cat"}) == Score(1.0, "caption: cat")


def test_var_keywords_get_every_argument_and_defaults_are_left_alone(spec_dir: Path) -> None:
    assert score(build({"python": "scorers.py:everything"}, spec_dir), "x") == Score(
        None, "files,input,model,output,row"
    )
    assert score(build({"python": "scorers.py:with_default"}, spec_dir), "abcde") == Score(0.5)


def test_an_exception_leaves_the_job_unscored_with_the_error_as_its_note(spec_dir: Path) -> None:
    assert score(build({"python": "scorers.py:divides"}, spec_dir), "") == Score(
        None, "ZeroDivisionError: division by zero"
    )
    assert score(build({"python": "scorers.py:quits"}, spec_dir), "x") == Score(None, "SystemExit: 3")
    assert score(build({"python": "scorers.py:exact_label"}, spec_dir), "x", row={"id": "1"}) == Score(
        None, "KeyError: '_expected'"
    )


def test_a_scorer_cannot_change_the_row_or_input_other_scorers_see(spec_dir: Path) -> None:
    row = {"id": "1", "_expected": "cat"}
    sent = {"prompt": "hi"}
    assert score(build({"python": "scorers.py:mutates"}, spec_dir), "x", row=row, input=sent) == Score(1.0)
    assert row == {"id": "1", "_expected": "cat"} and sent == {"prompt": "hi"}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (True, Score(1.0)),
        (False, Score(0.0)),
        (3, Score(3.0)),
        (0.25, Score(0.25)),
        (None, Score(None)),
        ((0.5, "half"), Score(0.5, "half")),
        ((True, 7), Score(1.0, "7")),
        ((None, "skipped"), Score(None, "skipped")),
        ([0.5, "a list is not a pair"], None),
        ("0.5", None),
        (float("nan"), None),
        (float("inf"), None),
        (("x", "note"), None),
        ((1, 2, 3), None),
        (np.float64(0.75), Score(0.75)),
        (np.int64(2), Score(2.0)),
        (np.bool_(True), Score(1.0)),
    ],
)
def test_what_a_scorer_returns_becomes_a_score(result: object, expected: Score | None) -> None:
    got = score_of(result)
    if expected is None:
        assert got.value is None
        assert got.note.startswith("the scorer returned ")
        assert got.note.endswith(": expected a number, a bool, None or (number, note)")
    else:
        assert got == expected


def test_a_returned_value_that_is_not_a_score_is_unscored_through_the_scorer(spec_dir: Path) -> None:
    scorer = build({"python": "scorers.py:returns"}, spec_dir)
    assert score(scorer, "'high'") == Score(
        None, "the scorer returned 'high': expected a number, a bool, None or (number, note)"
    )
    assert score(scorer, "(1, 'ok')") == Score(1.0, "ok")


def test_a_file_is_loaded_once_for_all_its_scorers_and_jobs(spec_dir: Path) -> None:
    raw = [
        {"python": "scorers.py:exact_label", "name": "a"},
        {"python": str(spec_dir / "scorers.py") + ":echo_model", "name": "b"},
        {"python": "./scorers.py:divides", "name": "c"},
    ]
    scorers, problems = parse_scorers(raw, spec_dir=spec_dir, model_names=MODELS, row_fields=ROW_FIELDS)
    assert not problems
    for scorer in scorers:
        for _ in range(3):
            score(scorer, "x", row={"_expected": "x"})  # type: ignore[arg-type]
    assert (spec_dir / "loads.txt").read_text() == "loaded\n"


def test_a_file_can_import_a_module_beside_it(tmp_path: Path) -> None:
    (tmp_path / "helpers_for_scoring.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "s.py").write_text(
        "from helpers_for_scoring import double\n\ndef f(output):\n    return double(0.25)\n"
    )
    assert score(build({"python": "s.py:f"}, tmp_path), "x") == Score(0.5)


def test_a_file_may_define_dataclasses(tmp_path: Path) -> None:
    (tmp_path / "d.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass
            class Verdict:
                value: float

            def f(output):
                return Verdict(0.5).value
            """
        )
    )
    assert score(build({"python": "d.py:f"}, tmp_path), "x") == Score(0.5)


@pytest.mark.parametrize(
    ("source", "reference", "message"),
    [
        ("def f(output): pass\n", "nope.py:f", "no such file: {dir}/nope.py"),
        (
            "def exact_label(output): pass\n",
            "s.py:exact_labl",
            "s.py has no function `exact_labl` (did you mean `exact_label`?)",
        ),
        ("def f(output): pass\n", "s.py:g", "s.py has no function `g`"),
        ("g = 3\n", "s.py:g", "`g` in s.py is not a function"),
        ("def f(output:\n", "s.py:f", "s.py failed to load: SyntaxError: "),
        (
            "x = 1\nraise RuntimeError('no model weights here')\n",
            "s.py:f",
            "s.py failed to load: RuntimeError: no model weights here (line 2)",
        ),
        ("import not_a_module_anywhere\n", "s.py:f", "s.py failed to load: ModuleNotFoundError: "),
        (
            "def f(output, reference): pass\n",
            "s.py:f",
            "`f` takes `reference`, which scorers are not given: "
            "name its arguments among output, row, input, files, model",
        ),
        ("def f(output, /): pass\n", "s.py:f", "`f` takes `output`, which scorers are not given"),
    ],
)
def test_a_scorer_that_cannot_be_loaded_is_a_preflight_problem(
    tmp_path: Path, source: str, reference: str, message: str
) -> None:
    (tmp_path / "s.py").write_text(source)
    _, problems = parse_scorers(
        [{"python": reference}],
        spec_dir=tmp_path,
        model_names=MODELS,
        row_fields=ROW_FIELDS,
        source="eval.yaml",
    )
    assert [p.place for p in problems] == ["scorers[0].python"]
    assert problems[0].message.startswith(message.format(dir=tmp_path.resolve())), problems[0].message
