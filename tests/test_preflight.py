"""The preflight: every mistake caught before the first create, all at once, each with its place and a hint.

Every case runs the real command line against the Replicate emulator and checks the exact error line,
exit status 2, and that the emulator saw no create and no upload.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from replicate_batch.cli import main
from replicate_batch.jobs import ResolvedModel
from replicate_batch.plan import describe_plan, limit_counts, rounds_needed
from replicate_batch.preflight import check_rows
from replicate_batch.rows.rowset import load_rows
from replicate_batch.schema import UNCHECKED, parse_schema
from replicate_batch.spec.loading import parse_spec
from tests.emulated import TOKEN, emulated
from tests.replicate_emulator import Emulator, ModelDef

SCHEMAS = "acme/edge: nullable, anyOf, arrays of files, required with a default, float bounds"


def _edge_model() -> ModelDef:
    """Schema corners the standard catalogue does not have."""
    return ModelDef(
        owner="acme",
        name="edge",
        input_schema={
            "required": ["mode"],
            "properties": {
                "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "mask": {"type": "string", "format": "uri", "nullable": True},
                "strength": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]},
                "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "count": {"type": "integer", "minimum": 1.0, "maximum": 10.0},
            },
        },
        output_schema={"type": "string"},
        predict=lambda inputs, ctx: "ok",
    )


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulated(_edge_model()) as emulator:
        yield emulator


def write(tmp_path: Path, spec: dict[str, Any] | str, files: dict[str, str] | None = None) -> Path:
    """The spec as `eval.yaml` (a dict is dumped, a string written as is) and any side files."""
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / "eval.yaml"
    if isinstance(spec, dict):
        spec = yaml.safe_dump({"output_dir": str(tmp_path / "runs"), **spec}, sort_keys=False)
    path.write_text(spec)
    return path


def refused(
    emu: Emulator, capsys: pytest.CaptureFixture[str], spec: Path, *args: str
) -> tuple[list[str], str]:
    """Run the CLI, require exit 2 with nothing created or uploaded; the error lines and stdout."""
    code = main([str(spec), *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert emu.count("create") == 0 and emu.count("upload") == 0
    assert not (spec.parent / "runs").exists()
    assert err.rstrip().endswith("nothing was run: fix the problems above and try again")
    assert TOKEN not in out + err
    return [line.removeprefix("error: ") for line in err.splitlines() if line.startswith("error: ")], out


# -- the spec itself: caught before any request -------------------------------------------------------

SPEC_CASES = [
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": "a"}], "concurency": 3},
        "concurency: unknown key `concurency` (did you mean `concurrency`?)",
    ),
    (
        {"models": ["flux"], "inputs": [{"prompt": "a"}]},
        "models[0]: expected \"owner/name[:version]\", got 'flux'",
    ),
    (
        {"models": "acme/echo", "inputs": [{"prompt": "a"}]},
        "models: expected a list of models, each a ref (owner/name[:version]) or a mapping with one of "
        "ref/cog/url/deployment, got 'acme/echo'",
    ),
    (
        {"models": ["acme/echo", {"ref": "acme/llm"}, 7], "inputs": [{"prompt": "a"}]},
        "models[2]: expected a ref string or a mapping with one of ref/cog/url/deployment, got 7",
    ),
    (
        {"models": ["acme/echo", "other/echo"], "inputs": [{"prompt": "a"}]},
        "models[1]: the model name 'echo' is already used by models[0]: give one of them a `name:`",
    ),
    (
        {"models": ["acme/echo"], "inputs": 5},
        "inputs: expected a list of rows or the path of a .csv, .jsonl, .json or .yaml file of rows, got 5",
    ),
    ({"models": ["acme/echo"], "inputs": []}, "inputs: no rows: add at least one row"),
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": "a"}], "matrix": [1, 2]},
        "matrix: expected a mapping of input names to lists of values, such as `seed: [1, 2]`, got [1, 2]",
    ),
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": "a"}], "retry": 3},
        "retry: expected a mapping of max_attempts, initial_wait, max_wait and on_model_error, got 3",
    ),
    (
        {"models": [{"ref": "acme/echo", "inputs": {"repeat": 2}}], "inputs": [{"prompt": "a"}]},
        "models[0].inputs: unknown key `inputs` (did you mean `input`?)",
    ),
    (
        "models:\n  - acme/echo\ninputs:\n  - prompt: 'a\n",
        "line 5, column 1: invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar at line 4, column 13)",
    ),
    (
        "models: [acme/echo]\ninputs:\n  - {prompt: a, prompt: b}\n",
        "line 3, column 17: invalid YAML: the key 'prompt' is given twice (first on line 3): keep one",
    ),
    (
        {"models": ["acme/echo"], "inputs": "rows.tsv"},
        "inputs: {dir}/rows.tsv: expected a .csv, .jsonl, .json, .yaml, .yml file of rows",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), SPEC_CASES, ids=[c[1][:40] for c in SPEC_CASES])
def test_a_bad_spec_is_refused_before_any_request(
    emu: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any] | str,
    expected: str,
) -> None:
    path = write(tmp_path, spec)
    errors, _ = refused(emu, capsys, path)
    assert f"{path}: {expected.format(dir=tmp_path)}" in errors, errors
    assert emu.requests == []


# -- models and the token -----------------------------------------------------------------------------


def test_unknown_models_are_named_together_with_the_other_problems(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path,
        {
            "models": [
                "acme/nope",
                "acme/echo",
                {"ref": "acme/echo:0123abc", "name": "pinned"},
                "acme/vision",
            ],
            "inputs": [{"prompt": "a", "repeat": 9, "image": "https://example.com/x.png"}],
        },
    )
    errors, _ = refused(emu, capsys, spec)
    hint = "check the owner/name[:version] and that your account can see the model"
    assert errors == [
        f"{spec}: models[0]: `nope`: model acme/nope was not found on Replicate (404): {hint}",
        f"{spec}: models[2]: `pinned`: model acme/echo version 0123abc was not found on Replicate (404): "
        f"{hint}",
        f"{spec}: inputs[0].repeat: `repeat` = 9 is above the maximum 5 for `echo`",
    ]


def test_the_names_of_two_models_must_differ_even_with_a_version(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, {"models": ["acme/echo", "acme/echo:abc"], "inputs": [{"prompt": "a"}]})
    errors, _ = refused(emu, capsys, spec)
    assert errors == [
        f"{spec}: models[1]: the model name 'echo' is already used by models[0]: give one of them a `name:`"
    ]


def test_a_rejected_token_is_one_line_for_the_whole_run(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong_and_secret")
    spec = write(tmp_path, {"models": ["acme/echo", "acme/llm", "acme/json"], "inputs": [{"prompt": "a"}]})
    code = main([str(spec)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0] == (
        "error: environment: REPLICATE_API_TOKEN: Replicate rejected the token (401 Unauthenticated): "
        "copy a valid one from https://replicate.com/account/api-tokens and export REPLICATE_API_TOKEN=r8_..."
    )
    assert err.count("error: ") == 1 and "r8_wrong_and_secret" not in err
    assert emu.count("create") == 0


# -- every value against the model's schema ------------------------------------------------------------

# (spec, files, expected line after "<spec>: "); `{dir}` is the spec's folder.
INPUT_CASES: list[tuple[dict[str, Any], dict[str, str], str]] = [
    (
        {"models": [{"ref": "acme/imagegen", "input": {"num_output": 2}}], "inputs": [{"prompt": "a"}]},
        {},
        "models[0].input.num_output: `imagegen` has no input `num_output` (did you mean `num_outputs`?); "
        "its inputs are: prompt, negative_prompt, width, height, num_outputs, scheduler, "
        "num_inference_steps, guidance_scale, seed",
    ),
    (
        {"models": ["acme/echo", "acme/json"], "inputs": [{"prompt": "a", "text": "b"}, {"promt": "c"}]},
        {},
        "inputs[1].promt: `promt` is not an input of any model (did you mean `prompt`?): rename it, or "
        "start it with `_` to keep it as row metadata; the models take: prompt, repeat, fail, seconds, text",
    ),
    (
        {"models": ["acme/echo"], "inputs": [{"repeat": 2}]},
        {},
        "inputs[0].prompt: `prompt` is required for `echo`: give it in every row or in models[0].input",
    ),
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": "a", "repeat": "4"}]},
        {},
        "inputs[0].repeat: `repeat` = '4' is not a whole number for `echo`: write numbers without quotes",
    ),
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": "a", "fail": "no"}]},
        {},
        "inputs[0].fail: `fail` = 'no' is not true or false for `echo`: write true or false without quotes",
    ),
    (
        {"models": ["acme/echo"], "inputs": [{"prompt": 1984}]},
        {},
        "inputs[0].prompt: `prompt` = 1984 is not text for `echo`: put it in quotes",
    ),
    (
        {"models": ["acme/imagegen"], "inputs": [{"prompt": "a", "scheduler": "ddim"}]},
        {},
        "inputs[0].scheduler: `scheduler` = 'ddim' is not one of 'DDIM', 'DPMSolverMultistep', 'K_EULER', "
        "'K_EULER_ANCESTRAL', 'PNDM' for `imagegen` (did you mean 'DDIM'?)",
    ),
    (
        {"models": [{"ref": "acme/imagegen", "input": {"scheduler": "K_EULR"}}], "inputs": [{"prompt": "a"}]},
        {},
        "models[0].input.scheduler: `scheduler` = 'K_EULR' is not one of 'DDIM', 'DPMSolverMultistep', "
        "'K_EULER', 'K_EULER_ANCESTRAL', 'PNDM' for `imagegen` (did you mean 'K_EULER'?)",
    ),
    (
        {"models": ["acme/llm"], "inputs": [{"prompt": "a", "max_tokens": 0}]},
        {},
        "inputs[0].max_tokens: `max_tokens` = 0 is below the minimum 1 for `llm`",
    ),
    (
        {"models": ["acme/imagegen"], "inputs": [{"prompt": "a", "seed": None}]},
        {},
        "inputs[0].seed: `seed` = null is not allowed for `imagegen`: leave the field out to use the "
        "model's default",
    ),
    (
        {
            "models": ["acme/echo"],
            "inputs": [
                {"prompt": "a", "repeat": 6},
                {"prompt": "b", "repeat": 2},
                {"prompt": "c", "repeat": 9},
                {"prompt": "d", "repeat": 6},
            ],
        },
        {},
        "3 rows: inputs[0], inputs[2], inputs[3]: `repeat` is above the maximum 5 for `echo` (6, 9)",
    ),
    (
        {"models": ["acme/imagegen"], "inputs": [{"prompt": "a"}], "matrix": {"seed": [1, "two", 2.5]}},
        {},
        "matrix.seed: `seed` is not a whole number for `imagegen` ('two', 2.5)",
    ),
    (
        {"models": ["acme/imagegen"], "inputs": [{"prompt": "a"}], "matrix": {"sed": [1, 2]}},
        {},
        "matrix.sed: no model takes `sed` (did you mean `seed`?); the models take: prompt, negative_prompt, "
        "width, height, num_outputs, scheduler, num_inference_steps, guidance_scale, seed",
    ),
    (
        {"models": ["acme/imagegen"], "inputs": [{"prompt": "a", "seed": 3}], "matrix": {"seed": [1, 2]}},
        {},
        "inputs[0].seed: `seed` is both a row field and a matrix key: keep one",
    ),
    (
        {"models": ["acme/vision"], "inputs": [{"image": "data/nope.png"}]},
        {},
        "inputs[0].image: `image` = 'data/nope.png' is neither a URL nor an existing file for `vision`: "
        "relative paths start at the spec's folder, {dir}",
    ),
    (
        {"models": ["acme/vision"], "inputs": [{"image": "data"}]},
        {"data/a.png": "png"},
        "inputs[0].image: `image` = 'data' is a folder for `vision`: give a file in it, or a URL",
    ),
    (
        {"models": ["acme/vision"], "inputs": [{"image": 42}]},
        {},
        "inputs[0].image: `image` = 42 is not a file path or URL for `vision`",
    ),
    # acme/edge: schema corners.
    (
        {
            "models": ["acme/edge"],
            "inputs": [{"mode": "fast", "images": ["https://example.com/a.png", "b.png"]}],
        },
        {},
        'inputs[0].images: `images` = ["https://example.com/a.png", "b.png"] has an item ([1] = \'b.png\') '
        "that is neither a URL nor an existing file for `edge`: relative paths start at the spec's folder, "
        "{dir}",
    ),
    (
        {"models": ["acme/edge"], "inputs": [{"mode": "fast", "images": ["a.png", "data/b.png"]}]},
        {"a.png": "png"},
        'inputs[0].images: `images` = ["a.png", "data/b.png"] has an item ([1] = \'data/b.png\') that is '
        "neither a URL nor an existing file for `edge`: relative paths start at the spec's folder, {dir}",
    ),
    (
        {"models": ["acme/edge"], "inputs": [{"mode": "fast", "images": ["a.png", "data"]}]},
        {"a.png": "png", "data/b.png": "png"},
        'inputs[0].images: `images` = ["a.png", "data"] has an item ([1] = \'data\') that is a folder '
        "for `edge`: give a file in it, or a URL",
    ),
    (
        {"models": ["acme/edge"], "inputs": [{"mode": "fast", "strength": 1.5}]},
        {},
        "inputs[0].strength: `strength` = 1.5 is above the maximum 1 for `edge`",
    ),
    (
        {"models": ["acme/edge"], "inputs": [{"mode": "fast", "tags": ["a", 2]}]},
        {},
        'inputs[0].tags: `tags` = ["a", 2] has an item ([1] = 2) that is not text for `edge`: '
        "put it in quotes",
    ),
    (
        {"models": ["acme/edge"], "inputs": [{"count": 0.5}]},
        {},
        "inputs[0].mode: `mode` is required for `edge`: give it in every row or in models[0].input; "
        "the schema lists a default ('fast') but still requires it",
    ),
]


@pytest.mark.parametrize(
    ("spec", "files", "expected"), INPUT_CASES, ids=[c[2].split(":")[0] + c[2][-20:] for c in INPUT_CASES]
)
def test_a_bad_input_is_refused_with_its_place_and_a_hint(
    emu: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spec: dict[str, Any],
    files: dict[str, str],
    expected: str,
) -> None:
    path = write(tmp_path, {"retry": {"initial_wait": 0.01}, **spec}, files)
    errors, _ = refused(emu, capsys, path)
    assert f"{path}: {expected.format(dir=tmp_path)}" in errors, errors


# (CSV text, expected lines after "<spec>: ") for models acme/imagegen and acme/echo sharing rows.
CSV_CASES = [
    (
        "prompt,num_inference_steps\na,600\nb,25\nc,700\nd,800\ne,30\n",
        [
            "3 rows: rows.csv lines 2, 4-5: `num_inference_steps` is above the maximum 500 for `imagegen` "
            "(600, 700, 800)"
        ],
    ),
    (
        "prompt,num_inference_steps,seed\na,abc,1\nb,2.5,x\n",
        [
            "2 rows: rows.csv lines 2-3: `num_inference_steps` is not a whole number for `imagegen` "
            "('abc', '2.5')",
            "rows.csv line 3: `seed` = 'x' is not a whole number for `imagegen`",
        ],
    ),
    (
        "prompt,promt\na,b\nc,d\n",
        [
            "rows.csv header: `promt` is not an input of any model (did you mean `prompt`?): rename it, or "
            "start it with `_` to keep it as row metadata; the models take: prompt, negative_prompt, width, "
            "height, num_outputs, scheduler, num_inference_steps, guidance_scale, seed, repeat, fail, seconds"
        ],
    ),
    (
        "prompt,repeat,fail\na,2,maybe\n,3,true\n",
        [
            "rows.csv line 2: `fail` = 'maybe' is not true or false for `echo`",
            "rows.csv line 3: `prompt` is required for `echo`: give it in every row or in models[1].input "
            "(an empty CSV cell counts as not given)",
        ],
    ),
]


@pytest.mark.parametrize(("rows", "expected"), CSV_CASES, ids=[c[1][0][:40] for c in CSV_CASES])
def test_bad_csv_rows_are_grouped_by_problem(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, expected: list[str]
) -> None:
    path = write(
        tmp_path, {"models": ["acme/imagegen", "acme/echo"], "inputs": "rows.csv"}, {"rows.csv": rows}
    )
    errors, _ = refused(emu, capsys, path)
    assert errors == [f"{path}: {line}" for line in expected]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "rows.jsonl",
            '{"prompt": "a", "repeat": 8}\n{"prompt": "b"}\n\n{"prompt": "c", "repeat": 9}\n',
            "2 rows: rows.jsonl lines 1, 4: `repeat` is above the maximum 5 for `echo` (8, 9)",
        ),
        (
            "rows.json",
            '[{"prompt": "a"}, {"prompt": "b", "repeat": 0}]',
            "rows.json[1].repeat: `repeat` = 0 is below the minimum 1 for `echo`",
        ),
        (
            "rows.yaml",
            "- {prompt: a, seconds: -1}\n- {prompt: b, seconds: -2}\n",
            "2 rows: rows.yaml[0], rows.yaml[1]: `seconds` is below the minimum 0 for `echo` (-1, -2)",
        ),
    ],
)
def test_rows_files_name_rows_by_line_or_index(
    emu: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    expected: str,
) -> None:
    path = write(tmp_path, {"models": ["acme/echo"], "inputs": name}, {name: text})
    errors, _ = refused(emu, capsys, path)
    assert errors == [f"{path}: {expected}"]


def test_many_rows_with_one_problem_are_one_line(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "prompt,repeat\n" + "".join(f"p{i},{6 + i % 3}\n" for i in range(500)) + "ok,2\nalso,3\n"
    path = write(tmp_path, {"models": ["acme/echo"], "inputs": "rows.csv"}, {"rows.csv": rows})
    errors, _ = refused(emu, capsys, path)
    assert errors == [
        f"{path}: 500 rows: rows.csv lines 2-501: `repeat` is above the maximum 5 for `echo` (6, 7, 8)"
    ]


def test_every_kind_of_problem_is_reported_in_one_go(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        {
            "models": [{"ref": "acme/imagegen", "input": {"num_outputs": 9}}, "acme/vision", "acme/missing"],
            "inputs": [{"prompt": "a", "image": "gone.png"}, {"prompt": "b", "image": "https://x/y.png"}],
            "matrix": {"seed": [1, "x"]},
        },
    )
    errors, _ = refused(emu, capsys, path)
    assert [e.removeprefix(f"{path}: ").split(":")[0] for e in errors] == [
        "models[2]",
        "models[0].input.num_outputs",
        "matrix.seed",
        "inputs[0].image",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_an_unreadable_file_is_refused(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, {"models": ["acme/vision"], "inputs": [{"image": "secret.png"}]}, {"secret.png": "x"}
    )
    (tmp_path / "secret.png").chmod(0)
    errors, _ = refused(emu, capsys, path)
    assert errors == [
        f"{path}: inputs[0].image: `image` = 'secret.png' cannot be read for `vision` (Permission denied)"
    ]


# -- what is valid ------------------------------------------------------------------------------------


def test_csv_strings_are_converted_by_the_schema_and_schema_corners_pass(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = (
        "prompt,num_inference_steps,guidance_scale,seed,images,tags,count,mode\n"
        'a,30,7.5,4.0,"[""https://example.com/a.png""]","[""x"", ""y""]",3,slow\n'
    )
    spec = {
        "models": ["acme/imagegen", "acme/edge"],
        "inputs": "rows.csv",
        "matrix": {"strength": [None, 0.5]},
    }
    path = write(tmp_path, spec, {"rows.csv": rows})
    assert main([str(path), "--dry-run"]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "imagegen  1 prediction\n" in out and "edge      2 predictions\n" in out
    assert "note: `edge` does not take `prompt`: not sent to it (1 row)" in err
    assert emu.count("create") == 0


def test_shared_rows_leave_out_what_a_model_does_not_take_and_say_so_once(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fridge.png").write_bytes(b"png")
    spec = {
        "models": ["acme/imagegen", "acme/vision"],
        "inputs": [
            {"id": "fridge", "prompt": "what can I cook?", "image": "data/fridge.png"},
            {"id": "beach", "prompt": "an iguana", "image": "https://example.com/beach.jpg"},
        ],
        "matrix": {"seed": [1, 2, 3]},
    }
    path = write(tmp_path, spec)
    assert main([str(path), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == ["note: `imagegen` does not take `image`: not sent to it (2 rows)"]
    assert out.splitlines()[:4] == [
        "dry run: nothing was created. The run would make:",
        "  imagegen  6 predictions",
        "  vision    2 predictions",
        "  total     8 predictions, 1 local file to upload",
    ]
    assert out.splitlines()[4].startswith(
        "expected duration (concurrency 8, 600 creates/min): at least 0.8 s for the creates, "
        "and 1 wave of predictions in flight,"
    )
    assert emu.count("create") == 0 and emu.count("upload") == 0
    assert not (tmp_path / "runs").exists()


def test_the_plan_counts_each_local_file_in_lists_once(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = (
        "mode,images,mask,tags\n"
        'fast,"[""a.png"", ""https://example.com/x.png"", ""data/b.png""]",a.png,"[""c.png""]"\n'
        'slow,"[""data/b.png"", ""a.png""]",,\n'
    )
    files = {"rows.csv": rows, "a.png": "png", "data/b.png": "png", "c.png": "png"}
    path = write(tmp_path, {"models": ["acme/edge"], "inputs": "rows.csv"}, files)
    assert main([str(path), "--dry-run"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out.splitlines()
    # a.png (in a list and as `mask`) and data/b.png; c.png is text in `tags`, a list that takes no files.
    assert out[2] == "  total  2 predictions, 2 local files to upload"
    assert emu.count("create") == 0 and emu.count("upload") == 0


def test_dry_run_of_a_bad_spec_exits_2(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"models": ["acme/echo"], "inputs": [{"prompt": "a", "repeat": 7}]})
    errors, out = refused(emu, capsys, path, "--dry-run")
    assert errors == [f"{path}: inputs[0].repeat: `repeat` = 7 is above the maximum 5 for `echo`"]
    assert out == ""


def test_dry_run_honours_limit_and_concurrency(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        {
            "models": ["acme/echo", "acme/llm"],
            "inputs": [{"prompt": str(i)} for i in range(30)],
            "rate_limit": 60,
        },
    )
    assert main([str(path), "--dry-run", "--limit", "40", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "dry run: nothing was created. The run would make (--limit 40: 40 of 60):",
        "  echo   30 predictions",
        "  llm    10 predictions",
        "  total  40 predictions, 0 local files to upload",
    ]
    assert out[4] == (
        "expected duration (concurrency 4, 60 creates/min): at least 40 s for the creates, "
        "and 10 waves of predictions in flight,"
    )
    assert out[5] == (
        "  each as long as one prediction (unknown until the model runs): "
        "~1.7 min at 10 s each, ~10 min at 1 min each"
    )
    assert emu.count("create") == 0


# -- the plan's arithmetic and models without a schema, without a server -----------------------------


def test_the_duration_is_a_lower_bound_from_rate_limit_waves_and_caps() -> None:
    assert limit_counts({"a": 5, "b": 5}, 7) == {"a": 5, "b": 2}
    assert rounds_needed({"a": 100}, 8, {}) == 13
    assert rounds_needed({"a": 10, "b": 2}, 8, {"a": 2}) == 5  # the model's own cap binds
    text = describe_plan({"a": 120}, limit=None, files=0, concurrency=60, rate_limit_per_min=60, caps={})
    # 120 creates at 60/min take 2 min whatever the model's speed; 2 waves of 60 s are less.
    assert "at least 2 min for the creates, and 2 waves" in text
    assert "~2 min at 10 s each, ~2 min at 1 min each" in text


def test_a_model_without_schema_gets_text_that_looks_like_a_path(tmp_path: Path) -> None:
    (tmp_path / "real.png").write_bytes(b"png")
    loaded = parse_spec(
        {
            "models": [{"url": "http://gpu-box:5000"}],
            "inputs": [{"image": "real.png", "caption": "photos/not-here.jpg"}],
        },
        path=tmp_path / "eval.yaml",
    )
    model = ResolvedModel(0, "gpu-box", "url:http://gpu-box:5000", UNCHECKED, {}, ())
    checked = check_rows(loaded, [model], load_rows(loaded))
    assert checked.problems == []
    assert checked.files == {tmp_path / "real.png"}
    assert checked.notes == ["`gpu-box` has no input schema: its inputs are unchecked"]


def test_schema_corners_are_read() -> None:
    schema = parse_schema(
        {
            "components": {
                "schemas": {
                    "Input": {"properties": _edge_model().input_schema["properties"], "required": ["mode"]},
                }
            }
        }
    )
    fields = schema.inputs
    assert fields is not None
    assert fields["images"].is_file_list and not fields["images"].is_file
    assert fields["mask"].is_file and fields["mask"].nullable
    assert (fields["strength"].type, fields["strength"].nullable, fields["strength"].maximum) == (
        "number",
        True,
        1,
    )
    assert fields["mode"].required and fields["mode"].enum == ("fast", "slow")
    assert fields["count"].check(4.0) is None  # JSON Schema counts 4.0 as an integer, like Replicate
    assert fields["count"].convert("4") == 4 and fields["count"].convert("4.5") == "4.5"
