"""The spec at the edge: every mistake named with its place, every bundled config valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from replicate_batch.problems import SpecError
from replicate_batch.rows import load_rows
from replicate_batch.spec import load_spec, parse_spec

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
            "models[0]: expected exactly one of ref/cog/url, got ref, cog",
        ),
        ({"models": [42]}, "models[0]: expected a ref string or a mapping with one of ref/cog/url"),
        (
            {"models": [{"ref": "a/b", "inputs": {}}]},
            "models[0].inputs: unknown key `inputs` (did you mean `input`?)",
        ),
        ({"models": [{"url": "gpu-box:5000"}]}, "models[0].url: expected an http(s) URL"),
        (
            {"models": ["a/b", "c/b"]},
            "models[1]: the model name 'b' is already used by models[0]: give one of them a `name:`",
        ),
        ({"models": []}, "models: List should have at least 1 item"),
        ({"concurrency": 0}, "concurrency: Input should be greater than or equal to 1"),
        ({"name": "my run"}, "name: String should match pattern"),
        ({"inputs": []}, "inputs: no rows: add at least one row"),
        ({"inputs": [{"id": 1}, {"id": 1}]}, "inputs[1]: row id '1' is already used by inputs[0]"),
        ({"inputs": ["just a string"]}, "inputs[0]: Input should be a valid dictionary"),
        ({"matrix": {"seed": []}}, "matrix: matrix key 'seed' has no values"),
    ],
)
def test_mistakes_are_named_with_their_place(
    change: dict[str, object], expected: str, tmp_path: Path
) -> None:
    found = problems_of({**MINIMAL, **change}, tmp_path)
    assert any(expected.removeprefix("eval.yaml: ") in p for p in found), found
    assert all(p.startswith(str(tmp_path / "eval.yaml")) for p in found)


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
            ],
            "inputs": [{"prompt": "x"}],
        },
        path=tmp_path / "fridge-eval.yaml",
    )
    assert loaded.name == "fridge-eval"
    assert loaded.model_names == ("flux-schnell", "llava", "gpu-box")
    spec = loaded.spec
    assert (spec.concurrency, spec.rate_limit, spec.timeout, spec.repeat, spec.retry.max_attempts) == (
        8,
        600,
        1800,
        1,
        4,
    )
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
    with pytest.raises(SpecError, match=r"rows.jsonl line 3: invalid JSON"):
        load_rows(parse_spec({"models": ["acme/echo"], "inputs": "rows.jsonl"}, path=tmp_path / "s.yaml"))


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_config_is_valid(config: Path) -> None:
    loaded = load_spec(config)
    assert load_rows(loaded)
    for model in loaded.spec.models:
        if model.cog:
            assert (loaded.resolve_path(model.cog) / "cog.yaml").is_file()


def test_the_readme_example_spec_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = parse_spec(yaml.safe_load(block), path=ROOT / "configs" / "readme.yaml")
    assert loaded.spec.models
