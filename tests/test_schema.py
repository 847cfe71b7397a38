"""Input checks by `jsonschema`: the package's preflight and the emulator each judge the JSON-schema rules a
hand-written check skipped (multipleOf, exclusive bounds, item counts, items behind a `$ref`, objects,
alternatives), the preflight in our words and the emulator as Replicate's 422.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from replicate_batch.cli import main
from replicate_batch.schema import InputField, parse_schema
from tests.emulated import TOKEN, emulated
from tests.replicate_emulator import Emulator, ModelDef, validate_input

REPO = Path(__file__).resolve().parent.parent

STRICT_INPUTS: dict[str, Any] = {
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string"},
        "width": {"type": "integer", "multipleOf": 8, "minimum": 64},
        "temperature": {"type": "number", "exclusiveMinimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "sizes": {"type": "array", "items": {"$ref": "#/components/schemas/Size"}},
        "box": {"type": "object", "properties": {"w": {"type": "integer"}}, "required": ["w"]},
        "steps": {"anyOf": [{"type": "integer"}, {"type": "string", "enum": ["auto"]}]},
    },
}
SIZE = {"type": "string", "enum": ["S", "M", "L"], "title": "Size"}

# One wrong value per row: what the preflight says about it (and its hint), and Replicate's 422 errors.
CASES: list[tuple[dict[str, Any], str, dict[str, str]]] = [
    ({"width": 100}, "`width` = 100 is not a multiple of 8 for `strict`", {"width": "multiple_of"}),
    ({"temperature": 0}, "`temperature` = 0 is not above 0 for `strict`", {"temperature": "number_gt"}),
    (
        {"tags": ["a", "b", "c"]},
        '`tags` = ["a", "b", "c"] has more than the maximum 2 items for `strict`',
        {"tags": "array_max_items"},
    ),
    (
        {"sizes": ["S", "XL"]},
        "`sizes` = [\"S\", \"XL\"] has an item ([1] = 'XL') that is not one of 'S', 'M', 'L' "
        "for `strict` (did you mean 'L'?)",
        {"sizes.1": "enum"},
    ),
    (
        {"box": {"w": "wide"}},
        '`box` = {"w": "wide"} has a value (["w"] = \'wide\') that is not a whole number for `strict`',
        {"box.w": "invalid_type"},
    ),
    ({"box": {}}, "`box` = {} lacks the required key `w` for `strict`", {"box.w": "required"}),
    (
        {"steps": "manual"},
        "`steps` = 'manual' fits none of the forms the schema allows for `strict`",
        {"steps": "number_any_of"},
    ),
]


def _strict_model() -> ModelDef:
    return ModelDef(
        owner="acme",
        name="strict",
        input_schema=STRICT_INPUTS,
        output_schema={"type": "string"},
        predict=lambda inputs, ctx: "ok",
        extra_schemas={"Size": SIZE},
    )


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulated(_strict_model()) as emulator:
        yield emulator


def test_the_preflight_reports_what_a_hand_written_check_missed(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "eval.yaml"
    rows = [{"prompt": "p", **values} for values, _, _ in CASES]
    spec.write_text(
        yaml.safe_dump({"output_dir": str(tmp_path / "runs"), "models": ["acme/strict"], "inputs": rows})
    )
    assert main([str(spec)]) == 2
    out, err = capsys.readouterr()
    errors = [line.removeprefix("error: ") for line in err.splitlines() if line.startswith("error: ")]
    expected = [
        f"{spec}: inputs[{i}].{next(iter(values))}: {said}" for i, (values, said, _) in enumerate(CASES)
    ]
    assert sorted(errors) == sorted(expected)
    assert emu.count("create") == 0 and TOKEN not in out + err


@pytest.mark.parametrize(
    ("values", "fields"),
    [(values, fields) for values, _, fields in CASES],
    ids=[json.dumps(values) for values, _, _ in CASES],
)
def test_the_emulator_refuses_the_same_values_on_its_own(
    emu: Emulator, values: dict[str, Any], fields: dict[str, str]
) -> None:
    version = emu.models["acme/strict"].version_id
    body = {"version": version, "input": {"prompt": "p", **values}}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.post(f"{emu.base_url}/v1/predictions", json=body, headers=headers)
    assert answer.status_code == 422
    assert {p["field"]: p["type"] for p in answer.json()["invalid_fields"]} == fields
    fine = {"prompt": "p", "width": 64, "steps": "auto", "sizes": ["S"], "box": {"w": 1}}
    assert validate_input(fine, emu.models["acme/strict"].components()) == []


def _field(schema: dict[str, Any], **components: Any) -> InputField:
    parsed = parse_schema({"components": {"schemas": {"Input": {"properties": {"x": schema}}, **components}}})
    assert parsed.inputs is not None
    return parsed.inputs["x"]


def _said(found: Any) -> str | None:
    return None if found is None else found.what + found.hint


def test_an_optional_value_is_judged_by_its_real_type() -> None:
    optional = _field({"anyOf": [{"type": "integer", "maximum": 5}, {"type": "null"}]})
    assert _said(optional.check(9)) == "is above the maximum 5"
    assert _said(optional.check("3")) == "is not a whole number: write numbers without quotes"
    assert optional.check(None) is None and optional.check(5) is None


def test_schema_parts_jsonschema_cannot_read_are_left_to_the_server() -> None:
    # A bound that is no number and a pattern Python cannot compile are skipped, not fatal.
    odd = _field({"type": "integer", "minimum": "5"})
    assert odd.check(3) is None
    assert _said(odd.check("x")) == "is not a whole number"
    pattern = _field({"type": "string", "pattern": "(?<name>x)"})
    assert pattern.check("y") is None
    assert _said(_field({"type": "string", "pattern": "^a"}).check("b")) == "does not match the pattern ^a"
    # A reference to nothing, and one back into itself (not followed), do not stop the check.
    assert _field({"$ref": "#/components/schemas/Missing"}).check(1) is None
    node = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}}
    tree = _field({"$ref": "#/components/schemas/Node"}, Node=node)
    assert tree.check({"child": {"child": {}}}) is None
    assert _said(tree.check([1])) == "is not a mapping"


def test_repeated_values_get_the_same_verdict() -> None:
    bounded = _field({"type": "integer", "maximum": 5})
    assert [_said(bounded.check(v)) for v in (9, 9.0, 9, True, 2)] == [
        "is above the maximum 5",
        "is above the maximum 5",
        "is above the maximum 5",
        "is not a whole number",
        None,
    ]


def test_importing_the_package_does_not_load_jsonschema() -> None:
    code = "import sys, replicate_batch; print('jsonschema' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "False"
