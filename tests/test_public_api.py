import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import replicate_batch
import replicate_batch as rb
from tests.doubles import instant_backends


def test_exported_members_are_documented_and_exist() -> None:
    for name in replicate_batch.__all__:
        member = getattr(replicate_batch, name)
        assert member.__doc__, name
    public = {n for n in dir(replicate_batch) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(replicate_batch, n)).__name__ == "module"}
    assert public - modules == set(replicate_batch.__all__)


def test_importing_the_package_loads_neither_pandas_nor_the_api_client_nor_cog() -> None:
    heavy = ["pandas", "replicate", "httpx", "cog", "coglet"]
    code = f"import sys, replicate_batch; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr
    # ... and `load_results` still works, loading pandas when first called.
    code = "import sys, replicate_batch as rb; rb.load_results; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True", done.stderr


def _spec_in_its_folder(folder: Path) -> Path:
    """A spec whose rows file is named relative to the spec's own folder."""
    folder.mkdir()
    (folder / "rows.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "prompt": f"picture {i}"}) + "\n" for i in range(3)),
        encoding="utf-8",
    )
    spec = {"name": "notebook", "models": ["double/instant"], "inputs": "rows.jsonl"}
    path = folder / "eval.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_the_notebook_example_runs_as_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = _spec_in_its_folder(tmp_path / "configs")
    elsewhere = tmp_path / "elsewhere"  # not the spec's folder: the LoadedSpec knows where its rows are
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    summary = rb.run_batch(
        rb.load_spec(spec_path), output_dir=tmp_path / "runs", quiet=True, backends=instant_backends()
    )
    df = rb.load_results(summary.run_dir)

    assert summary.exit_code == 0
    assert summary.counts == {"succeeded": 3}
    assert sorted(df["row_id"]) == ["r0", "r1", "r2"]
    assert set(df["status"]) == {"succeeded"}
    assert "succeeded" in summary.table  # the summary table comes back ...
    assert capsys.readouterr() == ("", "")  # ... and a quiet library call prints nothing


def test_a_batch_spec_runs_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_path = _spec_in_its_folder(tmp_path / "configs")
    spec = rb.load_spec(spec_path).spec  # a BatchSpec has no folder: relative paths are the cwd's
    monkeypatch.chdir(tmp_path / "configs")
    summary = rb.run_batch(spec, output_dir=tmp_path / "runs", quiet=True, backends=instant_backends())
    assert summary.counts == {"succeeded": 3}

    monkeypatch.chdir(tmp_path)
    with pytest.raises(rb.SpecError) as error:
        rb.run_batch(spec, output_dir=tmp_path / "runs", quiet=True, backends=instant_backends())
    assert "rows.jsonl" in str(error.value)


def test_every_error_the_package_raises_has_one_base() -> None:
    from replicate_batch import errors

    raised = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__
    ]
    assert len(raised) > 15
    assert all(issubclass(kind, errors.ReplicateBatchError) for kind in raised)
    for kind in raised:  # the tree in the module's docstring names every one of them
        assert kind.__name__ in (errors.__doc__ or ""), kind
