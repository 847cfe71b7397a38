"""The spec at the edge: every mistake named with its place, every bundled config valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from replicate_batch.errors import SpecError
from replicate_batch.rows.rowset import load_rows
from replicate_batch.scoring import check_scoring
from replicate_batch.spec.loading import load_spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = {"models": ["acme/echo"], "inputs": [{"prompt": "hi"}]}


def problems_of(data: object, tmp_path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        loaded = parse_spec(data, path=tmp_path / "eval.yaml")
        load_rows(loaded)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"concurency": 3}, "eval.yaml: concurency: unknown key `concurency` (did you mean `concurrency`?)"),
        (
            {"retry": {"max_atempts": 2}},
            "retry.max_atempts: unknown key `max_atempts` (did you mean `max_attempts`?)",
        ),
        ({"models": [{"ref": "flux"}]}, "models[0].ref: expected \"owner/name[:version]\", got 'flux'"),
        (
            {"models": [{"ref": "a/b", "cog": "x"}]},
            "models[0]: expected exactly one of ref/cog/url/deployment, got ref, cog",
        ),
        (
            {"models": [42]},
            "models[0]: expected a ref string or a mapping with one of ref/cog/url/deployment, got 42",
        ),
        (
            {"models": [{"ref": "a/b", "inputs": {}}]},
            "models[0].inputs: unknown key `inputs` (did you mean `input`?)",
        ),
        ({"models": [{"url": "gpu-box:5000"}]}, "models[0].url: expected an http(s) URL"),
        (
            {"models": ["a/b", "c/b"]},
            "models[1]: the model name 'b' is already used by models[0]: give one of them a `name:`",
        ),
        ({"models": []}, "models: expected a list of models, each a ref (owner/name[:version]) or a "),
        ({"concurrency": 0}, "concurrency: expected 1 or more, got 0"),
        ({"name": "my run"}, "name: expected letters, digits, '.', '_' or '-' (starting with a letter or"),
        ({"name": "n" * 300}, "name: the run name is 300 characters long: use at most 100"),
        # `$` would let a final newline through, into the run's or the model's folder name
        (
            {"name": "ok\n"},
            "name: expected letters, digits, '.', '_' or '-' (starting with a letter or digit), got 'ok\\n'",
        ),
        ({"models": [{"ref": "acme/echo", "name": "ok\n"}]}, "models[0].name: expected letters, digits"),
        ({"models": ["acme/echo\n"]}, "models[0]: expected \"owner/name[:version]\", got 'acme/echo\\n'"),
        ({"models": [{"ref": "acme/echo:v1\n"}]}, 'models[0].ref: expected "owner/name[:version]"'),
        ({"inputs": []}, "inputs: no rows: add at least one row"),
        ({"inputs": [{"id": 1}, {"id": 1}]}, "inputs[1]: row id '1' is already used by inputs[0]"),
        (
            {"inputs": ["just a string"]},
            "inputs[0]: expected a row (a mapping of input names to values), got 'just a string'",
        ),
        (
            {"matrix": {"seed": []}},
            "matrix.seed: expected a list of values, such as `[1, 2]` (one value: `[1]`)",
        ),
    ],
)
def test_mistakes_are_named_with_their_place(
    change: dict[str, object], expected: str, tmp_path: Path
) -> None:
    found = problems_of({**MINIMAL, **change}, tmp_path)
    assert any(expected.removeprefix("eval.yaml: ") in p for p in found), found
    assert all(p.startswith(str(tmp_path / "eval.yaml")) for p in found)


# A spec in the wrong shape: the place as the user wrote it and what belongs there, never pydantic's
# internals ("function-after[...]", "list[dict[str,any]]", "Input should be a valid ...").
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"models": "acme/echo"},
            "models: expected a list of models, each a ref (owner/name[:version]) or a mapping with one of "
            "ref/cog/url/deployment, got 'acme/echo'",
        ),
        (
            {"models": [None]},
            "models[0]: expected a ref string or a mapping with one of ref/cog/url/deployment, got null",
        ),
        ({"models": [{}]}, "models[0]: expected exactly one of ref/cog/url/deployment, got none"),
        ({"models": [{"ref": 5}]}, "models[0].ref: expected text, got 5"),
        ({"models": ["flux"]}, "models[0]: expected \"owner/name[:version]\", got 'flux'"),
        (
            {"models": [{"ref": "a/b", "input": 5}]},
            "models[0].input: expected a mapping of input names to values",
        ),
        ({"models": [{"ref": "a/b", "input": {1: 2}}]}, "models[0].input.1: the key 1 is not text"),
        ({"models": [{"ref": "a/b", "concurrency": 0}]}, "models[0].concurrency: expected 1 or more, got 0"),
        (
            {"models": [{"url": 5}]},
            'models[0].url: expected an http(s) URL such as "http://host:5000", or a list',
        ),
        ({"models": [{"url": ["http://a:1", 5]}]}, "models[0].url[1]: expected an http(s) URL"),
        ({"models": [{"url": []}]}, "models[0].url: expected at least one URL"),
        (
            {"inputs": 5},
            "inputs: expected a list of rows or the path of a .csv, .jsonl, .json or .yaml file of rows, "
            "got 5",
        ),
        ({"inputs": {"prompt": "hi"}}, "inputs: expected a list of rows or the path of a .csv"),
        ({"inputs": [5]}, "inputs[0]: expected a row (a mapping of input names to values), got 5"),
        (
            {"inputs": [{"prompt": "a"}, None]},
            "inputs[1]: expected a row (a mapping of input names to values)",
        ),
        ({"inputs": "rows.txt"}, "inputs: "),
        ({"inputs": "missing.csv"}, "inputs: cannot read the rows file"),
        (
            {"matrix": [1, 2]},
            "matrix: expected a mapping of input names to lists of values, such as `seed: [1, 2]`, "
            "got [1, 2]",
        ),
        (
            {"matrix": {"seed": 3}},
            "matrix.seed: expected a list of values, such as `[1, 2]` (one value: `[1]`), got 3",
        ),
        (
            {"retry": 3},
            "retry: expected a mapping of max_attempts, initial_wait, max_wait and on_model_error, got 3",
        ),
        ({"retry": {"max_attempts": "x"}}, "retry.max_attempts: expected a whole number, got 'x'"),
        ({"retry": {"on_model_error": "maybe"}}, "retry.on_model_error: expected true or false, got 'maybe'"),
        (
            {"retry": {"tries": 1}},
            "retry.tries: unknown key `tries`: the keys here are max_attempts, initial_wait",
        ),
        ({"repeat": True}, "repeat: expected a number, got true"),
        ({"concurrency": 2.5}, "concurrency: expected a whole number, got 2.5"),
        ({"rate_limit": 0}, "rate_limit: expected more than 0, got 0"),
        ({"timeout": "soon"}, "timeout: expected a number, got 'soon'"),
        ({"output_dir": 5}, "output_dir: expected text, got 5"),
    ],
)
def test_a_spec_in_the_wrong_shape_says_where_and_what_belongs_there(
    change: dict[str, object], expected: str, tmp_path: Path
) -> None:
    found = problems_of({**MINIMAL, **change}, tmp_path)
    assert any(p.startswith(f"{tmp_path / 'eval.yaml'}: {expected}") for p in found), found
    for internal in ("function-", "list[", "dict[", "Input should", "Value error", "[key]"):
        assert not any(internal in p for p in found), found


def test_a_missing_section_is_named(tmp_path: Path) -> None:
    found = problems_of({"models": ["acme/echo"]}, tmp_path)
    assert found == [
        f"{tmp_path / 'eval.yaml'}: inputs: required but missing: a list of rows or the path of a .csv, "
        ".jsonl, .json or .yaml file of rows"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "models:\n  - acme/echo\ninputs: [\n  {prompt: hi\n",
            "line 5, column 1: invalid YAML: expected ',' or",
        ),
        (
            "models:\n\t- acme/echo\n",
            "line 2, column 1: invalid YAML: found character '\\t' that cannot start",
        ),
        (
            "models: [acme/echo]\ninputs: [{prompt: a}]\nmodels: [acme/llm]\n",
            "line 3, column 1: invalid YAML: the key 'models' is given twice (first on line 1): keep one",
        ),
        (
            "models: [acme/echo]\n  inputs: [{prompt: a}]\n",
            "line 2, column 3: invalid YAML: expected <block end>, but found '<block mapping start>'",
        ),
        ("- acme/echo\n", 'expected a mapping with `models` and `inputs`, got ["acme/echo"]'),
    ],
)
def test_yaml_mistakes_give_line_and_column(text: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: {expected}"), str(caught.value)


def test_yaml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  - acme/echo\ninputs: [\n  {prompt: hi\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: line 5, column 1: invalid YAML")


def test_defaults_names_and_short_form(tmp_path: Path) -> None:
    loaded = parse_spec(
        {
            "models": [
                "black-forest-labs/flux-schnell",
                {"ref": "yorickvp/llava-13b:abc", "name": "llava"},
                {"url": "http://gpu-box:5000"},
                {"deployment": "acme/llava-prod"},
            ],
            "inputs": [{"prompt": "x"}],
        },
        path=tmp_path / "fridge-eval.yaml",
    )
    assert loaded.name == "fridge-eval"
    assert loaded.model_names == ("flux-schnell", "llava", "gpu-box", "llava-prod")
    assert [m.spec_ref() for m in loaded.spec.models][2:] == [
        "url:http://gpu-box:5000",
        "deployment:acme/llava-prod",
    ]
    spec = loaded.spec
    defaults = (spec.concurrency, spec.rate_limit, spec.poll_limit, spec.timeout, spec.repeat)
    assert defaults == (8, 600, 2500, 1800, 1)
    assert (spec.retry.max_attempts, spec.retry.initial_wait, spec.retry.on_model_error) == (4, 1.0, False)
    assert yaml.safe_load(loaded.canonical_yaml())["models"][0]["name"] == "flux-schnell"


def test_rows_from_files_keep_their_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("id,prompt,steps,_gold\na,hello,4,yes\nb,,5,no\n")
    loaded = parse_spec({"models": ["acme/echo"], "inputs": "rows.csv"}, path=tmp_path / "s.yaml")
    rows = load_rows(loaded)
    assert [(r.id, r.place, dict(r.values), dict(r.metadata)) for r in rows] == [
        ("a", "rows.csv line 2", {"prompt": "hello", "steps": "4"}, {"_gold": "yes"}),
        ("b", "rows.csv line 3", {"steps": "5"}, {"_gold": "no"}),
    ]
    (tmp_path / "rows.jsonl").write_text('{"prompt": "a"}\n\n{"prompt": "b"\n')
    with pytest.raises(SpecError, match=r"rows.jsonl line 3, column 15: invalid JSON"):
        load_rows(parse_spec({"models": ["acme/echo"], "inputs": "rows.jsonl"}, path=tmp_path / "s.yaml"))


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_config_is_valid(config: Path) -> None:
    loaded = load_spec(config)
    rows = load_rows(loaded)
    assert rows
    for model in loaded.spec.models:
        if model.cog:
            assert (loaded.resolve_path(model.cog) / "cog.yaml").is_file()
    scorers, problems = check_scoring(
        loaded.spec.scorers,
        loaded.spec.group_by,
        spec_dir=loaded.base_dir,
        model_names=loaded.model_names,
        value_names=rows.value_names,
        metadata_names=rows.metadata_names,
        source=loaded.source,
    )
    assert not problems, [str(p) for p in problems]
    assert scorers  # every bundled config is an evaluation


def test_the_readme_example_spec_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = parse_spec(yaml.safe_load(block), path=ROOT / "configs" / "readme.yaml")
    assert loaded.spec.models


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "rows.csv",
            "prompt,seed,prompt\na,1,b\n",
            "rows.csv header: `prompt` given twice: keep one column each",
        ),
        (
            "rows.csv",
            "prompt,seed\na,1,2\n",
            "rows.csv line 2: more cells than the header has columns: quote",
        ),
        ("rows.csv", "prompt,,seed\na,x,1\n", "rows.csv line 2: a cell under a column with no name: name it"),
        ("rows.csv", "prompt,seed\n", "inputs: rows.csv has no rows: add at least one row under the header"),
        (
            "rows.csv",
            'prompt,seed\na,1\n"b,2\n\nc,3\n',
            "rows.csv line 3: a quoted cell in this row is never closed: end it with a quote",
        ),
        (
            "rows.csv",
            'prompt,seed\na,1\n"b"c,2\n',
            "rows.csv line 3: not valid CSV: ',' expected after '\"': text follows a closing quote",
        ),
        (
            "rows.json",
            '[{"prompt": "a"},\n {"prompt": }]',
            "rows.json line 2, column 13: invalid JSON: Expecting",
        ),
        ("rows.json", '{"prompt": "a"}', "rows.json: expected a list of rows, got dict"),
        (
            "rows.json",
            '[{"prompt": "a"}, "b"]',
            "rows.json[1]: expected a row (a mapping of input names to values)",
        ),
        (
            "rows.yaml",
            "- prompt: a\n- prompt: [b\n",
            "rows.yaml line 3, column 1: invalid YAML: expected ',' or ']'",
        ),
        (
            "rows.jsonl",
            '{"id": "a"}\n{"id": "a"}\n',
            "rows.jsonl line 2: row id 'a' is already used by rows.jsonl line 1",
        ),
        (
            "rows.txt",
            "prompt\na\n",
            "inputs: {dir}/rows.txt: expected a .csv, .jsonl, .json, .yaml, .yml file of rows",
        ),
    ],
)
def test_a_bad_rows_file_names_the_line(name: str, text: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(text)
    found = problems_of({"models": ["acme/echo"], "inputs": name}, tmp_path)
    assert any(p.startswith(f"{tmp_path / 'eval.yaml'}: {expected.format(dir=tmp_path)}") for p in found), (
        found
    )


def test_csv_cells_are_trimmed_only_in_the_header_and_empty_rows_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text('prompt, seed,\n"a, b", 2,\n,,\n"multi\nline",3,\n')
    loaded = parse_spec({"models": ["acme/echo"], "inputs": "rows.csv"}, path=tmp_path / "s.yaml")
    assert [(r.place, dict(r.values)) for r in load_rows(loaded)] == [
        ("rows.csv line 2", {"prompt": "a, b", "seed": " 2"}),
        ("rows.csv line 5", {"prompt": "multi\nline", "seed": "3"}),
    ]


def test_csv_cells_of_any_size_are_read(tmp_path: Path) -> None:
    long = "a long prompt, " * 20_000  # 300,000 characters: over the csv module's default limit
    (tmp_path / "rows.csv").write_text(f'id,prompt\nbig,"{long}"\nsmall,hi\n')
    loaded = parse_spec({"models": ["acme/echo"], "inputs": "rows.csv"}, path=tmp_path / "s.yaml")
    assert [(r.id, r.place, dict(r.values)) for r in load_rows(loaded)] == [
        ("big", "rows.csv line 2", {"prompt": long}),
        ("small", "rows.csv line 3", {"prompt": "hi"}),
    ]


def test_a_spec_file_name_with_a_newline_is_not_a_run_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"name: 'ok\\n' is not a valid run name"):
        parse_spec(MINIMAL, path=tmp_path / "ok\n.yaml")


def test_yaml_anchors_and_merges_still_work(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "defaults: &d {num_outputs: 1, seed: 2}\n"
        "models: [{ref: acme/imagegen, input: {<<: *d, seed: 3}}]\n"
        "inputs: [{prompt: a}]\n"
    )
    with pytest.raises(SpecError, match="defaults: unknown key `defaults`"):
        load_spec(path)  # the merge itself is fine; only the top-level helper key is unknown
    path.write_text("models: [{ref: acme/imagegen, input: &d {seed: 3}}]\ninputs: [{prompt: a, <<: *d}]\n")
    assert [row.values for row in load_rows(load_spec(path))] == [{"prompt": "a", "seed": 3}]
