"""Where hosted predictions run: deployments, official models, models never pushed, and the plan saying so.

Every test runs the real runner and the real `replicate` client against the emulator.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from replicate_batch import load_results, run_batch
from replicate_batch.cli import main
from replicate_batch.clock import Clock
from tests.emulated import SCALE, run_scaled
from tests.emulator_models import official_image_model, unpushed_model
from tests.replicate_emulator import Emulator, Fault, ModelDef, PredictContext

DEPLOYMENT_CREATES = "/v1/deployments/acme/echo-prod/predictions"


@pytest.fixture
def private_echo(emu: Emulator) -> ModelDef:
    """A private (community) copy of acme/echo, deployed as `acme/echo-prod`."""
    model = dataclasses.replace(
        emu.models["acme/echo"], name="private-echo", official=False, accepts_version=None, version_id=None
    )
    emu.add_deployment("acme", "echo-prod", model)
    return model


def write_spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "eval.yaml"
    full = {"output_dir": str(tmp_path / "runs"), "retry": {"initial_wait": 0.05, "max_wait": 0.2}, **spec}
    path.write_text(yaml.safe_dump(full, sort_keys=False))
    return path


def create_paths(emu: Emulator) -> list[str]:
    return [request.path for request in emu.requests if request.endpoint == "create"]


# -- deployments -------------------------------------------------------------------------------------


def test_a_deployment_runs_on_its_endpoint_and_records_its_version(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path
) -> None:
    spec = {
        "models": [{"deployment": "acme/echo-prod", "input": {"repeat": 2}}],
        "inputs": [{"id": "a", "prompt": "hi"}, {"id": "b", "prompt": "yo"}],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.exit_code == 0
    df = load_results(summary.run_dir)
    assert dict(zip(df.row_id, df.output)) == {"a": "hi hi", "b": "yo yo"}
    assert set(df.model) == {"echo-prod"}  # the default name: the deployment's name part
    assert set(df.model_ref) == {"deployment:acme/echo-prod"}
    assert set(df.version) == {private_echo.version_id}
    assert create_paths(emu) == [DEPLOYMENT_CREATES] * 2
    creates = [r for r in emu.requests if r.endpoint == "create"]
    assert all(r.headers["prefer"].startswith("wait") and "cancel-after" in r.headers for r in creates)
    bodies = sorted((r.body for r in creates), key=lambda body: str(body["input"]["prompt"]))
    assert bodies == [{"input": {"prompt": p, "repeat": 2}} for p in ["hi", "yo"]]  # in either order
    assert emu.count("deployment") == 1  # read once, before the run
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["models"] == [
        {"name": "echo-prod", "model_ref": "deployment:acme/echo-prod", "version": private_echo.version_id}
    ]


def test_a_deployments_inputs_are_checked_against_its_releases_schema(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(
        tmp_path, {"models": [{"deployment": "acme/echo-prod"}], "inputs": [{"prompt": "x", "repeat": 9}]}
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: inputs[0].repeat: `repeat` = 9 is above the maximum 5 for `echo-prod`" in err
    assert emu.count("create") == 0 and not (tmp_path / "runs").exists()


def test_an_unknown_deployment_is_a_preflight_error(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(
        tmp_path,
        {"models": ["acme/echo", {"deployment": "acme/nope", "name": "prod"}], "inputs": [{"prompt": "x"}]},
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: {path}: models[1]: `prod`: deployment acme/nope was not found on Replicate (404): check the "
        "owner/name (https://replicate.com/deployments) and that your token's account owns it"
    ) in err
    assert emu.count("create") == 0 and not (tmp_path / "runs").exists()


def test_a_deployment_needs_the_token_like_any_hosted_model(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    path = write_spec(tmp_path, {"models": [{"deployment": "acme/echo-prod"}], "inputs": [{"prompt": "x"}]})
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "error: environment: REPLICATE_API_TOKEN: not set, but models[0] run on Replicate" in err
    assert emu.requests == []


def test_a_deployment_ref_with_a_version_is_refused(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(
        tmp_path, {"models": [{"deployment": "acme/echo-prod:abc"}], "inputs": [{"prompt": "x"}]}
    )
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        'models[0].deployment: expected "owner/name" (a deployment has no version), '
        "got 'acme/echo-prod:abc'" in err
    )
    assert emu.requests == []


def test_a_release_changed_mid_run_is_recorded_per_prediction(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path
) -> None:
    shouting = dataclasses.replace(
        private_echo, version_id="e" * 64, predict=lambda inputs, ctx: inputs["prompt"].upper()
    )

    def release_then_echo(inputs: dict[str, Any], ctx: PredictContext) -> str:
        emu.update_deployment("acme", "echo-prod", shouting)  # its owner releases a new version
        return str(inputs["prompt"])

    emu.update_deployment("acme", "echo-prod", dataclasses.replace(private_echo, predict=release_then_echo))
    spec = {
        "concurrency": 1,
        "models": [{"deployment": "acme/echo-prod"}],
        "inputs": [{"id": "first", "prompt": "a"}, {"id": "second", "prompt": "b"}],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    df = load_results(summary.run_dir)
    assert dict(zip(df.row_id, zip(df.output, df.version))) == {
        "first": ("a", private_echo.version_id),
        "second": ("B", "e" * 64),
    }
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["models"][0]["version"] == private_echo.version_id  # what the inputs were checked against


def test_a_lost_deployment_create_is_adopted_not_paid_twice_even_after_a_new_release(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path
) -> None:
    newer = dataclasses.replace(private_echo, version_id="e" * 64)

    def release_then_echo(inputs: dict[str, Any], ctx: PredictContext) -> str:
        emu.update_deployment("acme", "echo-prod", newer)  # a version the run did not read at its start
        return str(inputs["prompt"])

    emu.update_deployment("acme", "echo-prod", dataclasses.replace(private_echo, predict=release_then_echo))
    lost = Fault(
        "create", drop=True, after=True, path="/v1/deployments/", match=lambda b: b["input"]["prompt"] == "b"
    )
    emu.add_fault(lost)
    spec = {
        "concurrency": 1,
        "models": [{"deployment": "acme/echo-prod"}],
        "inputs": [{"prompt": "a"}, {"prompt": "b"}],
    }
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.exit_code == 0 and emu.pending_faults() == []
    df = load_results(summary.run_dir)
    # The lost create's prediction was found in GET /v1/predictions and adopted: nothing paid twice.
    assert len(emu.predictions) == 2 and emu.count("create") == 2 and emu.count("list") >= 1
    adopted = next(state for state in emu.predictions.values() if state.input == {"prompt": "b"})
    assert (adopted.deployment, adopted.version) == ("acme/echo-prod", "e" * 64)
    assert dict(zip(df.output, df.version)) == {"a": private_echo.version_id, "b": "e" * 64}


def test_a_deployment_run_resumes_and_adopts_a_create_it_lost(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path
) -> None:
    emu.add_fault(Fault("create", drop=True, after=True, path="/v1/deployments/"))
    emu.add_fault(Fault("list", status=500, times=1000))
    path = write_spec(
        tmp_path,
        {
            "concurrency": 1,  # the first create is the lost one
            "retry": {"initial_wait": 0.05, "max_attempts": 2},
            "models": [{"deployment": "acme/echo-prod"}],
            "inputs": [{"id": "lost", "prompt": "x"}, {"id": "fine", "prompt": "y"}],
        },
    )
    first = run_batch(path, clock=Clock(SCALE), stderr=io.StringIO())
    assert first.exit_code == 1
    assert first.run_dir is not None
    before = load_results(first.run_dir).set_index("row_id")
    assert "could not be looked up" in before.error["lost"] and before.status["fine"] == "succeeded"
    emu.clear_faults()

    again = run_batch(path, resume=first.run_dir, clock=Clock(SCALE), stderr=io.StringIO())
    assert again.exit_code == 0
    after = load_results(first.run_dir).set_index("row_id")
    assert set(after.status) == {"succeeded"} and set(after.version) == {private_echo.version_id}
    assert after.prediction_id["fine"] == before.prediction_id["fine"]  # kept, not run again
    assert len(emu.predictions) == 2 and emu.count("create") == 2  # the lost one was adopted
    assert create_paths(emu) == [DEPLOYMENT_CREATES] * 2


# -- official models and models never pushed --------------------------------------------------------


def test_an_official_model_falls_back_to_its_model_endpoint_and_records_each_version(
    emu: Emulator, tmp_path: Path
) -> None:
    schnell = emu.add_model(official_image_model())
    spec = {"concurrency": 1, "models": ["acme/schnell"], "inputs": [{"prompt": "a"}, {"prompt": "b"}]}
    summary = run_scaled(spec, tmp_path / "runs")
    assert summary.exit_code == 0
    df = load_results(summary.run_dir)
    assert set(df.status) == {"succeeded"} and set(df.attempts) == {1}
    # One version create, refused with 422 (which creates nothing); then only the model endpoint.
    assert create_paths(emu) == ["/v1/predictions"] + ["/v1/models/acme/schnell/predictions"] * 2
    assert len(emu.predictions) == 2
    reported = {state.id: state.version for state in emu.predictions.values()}
    assert dict(zip(df.prediction_id, df.version)) == reported
    assert all(version.startswith("dp-") for version in reported.values())
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["models"][0]["version"] == schnell.version_id  # the schema the inputs were checked on


def test_a_pinned_version_of_an_official_model_is_not_swapped_for_another(
    emu: Emulator, tmp_path: Path
) -> None:
    schnell = emu.add_model(official_image_model())
    spec = {"models": [f"acme/schnell:{schnell.version_id}"], "inputs": [{"prompt": "a"}]}
    summary = run_scaled(spec, tmp_path / "runs")
    df = load_results(summary.run_dir)
    assert (summary.exit_code, df.status[0], df.attempts[0]) == (1, "failed", 1)  # a 422 is not retried
    assert df.error[0] == (
        "Replicate API error 422: Invalid version or not permitted: The specified version does not exist "
        "(or perhaps you don't have permission to use it?); Replicate refuses creates by version for "
        "acme/schnell (official models run only on their model endpoint): give the ref without "
        f"`:{schnell.version_id}` to run its current version"
    )
    assert create_paths(emu) == ["/v1/predictions"] and emu.predictions == {}


def test_a_model_never_pushed_is_a_preflight_error(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.add_model(unpushed_model())
    path = write_spec(tmp_path, {"models": ["mattt/empty"], "inputs": [{"prompt": "x"}]})
    for extra in ([], ["--dry-run"]):
        assert main([str(path), *extra]) == 2
        err = capsys.readouterr().err
        assert (
            f"error: {path}: models[0]: `empty`: model mattt/empty has no published version (its "
            "latest_version is null), so nothing can run it: push one (`cog push r8.im/mattt/empty`), "
            "or check the owner/name on https://replicate.com/mattt/empty"
        ) in err
    assert emu.count("create") == 0 and not (tmp_path / "runs").exists()


def test_the_plan_says_where_each_models_predictions_are_created(
    emu: Emulator, private_echo: ModelDef, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schnell = emu.add_model(official_image_model())
    llm = str(emu.models["acme/llm"].version_id)
    path = write_spec(
        tmp_path,
        {
            "models": [
                "acme/schnell",
                {"ref": f"acme/llm:{llm}", "name": "pinned"},
                {"deployment": "acme/echo-prod"},
            ],
            "inputs": [{"prompt": "x"}],
        },
    )
    assert main([str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("where each model's predictions are created:")
    assert out[at + 1 :] == [
        f"  schnell    version {str(schnell.version_id)[:12]} (POST /v1/predictions; if refused, as official "
        "models do: POST /v1/models/acme/schnell/predictions)",
        f"  pinned     version {llm[:12]} (POST /v1/predictions)",
        f"  echo-prod  deployment acme/echo-prod (POST {DEPLOYMENT_CREATES}; release 1: acme/private-echo "
        f"version {str(private_echo.version_id)[:12]})",
    ]
    assert emu.count("create") == 0
