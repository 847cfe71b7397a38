"""Scoring on real Cog servers: a python scorer given every argument (files included), and the offline
default, `configs/eval.yaml`, as the evaluation the README shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replicate_batch import rescore_run
from replicate_batch.cli import main
from tests.test_cog import (
    EXAMPLE_MODELS,
    PNG_SIGNATURE,
    TIMEOUT_S,
    copy_model,
    only_run,
    read_csv,
    write_spec,
)

REPO = Path(__file__).resolve().parents[1]

EVERY_ARGUMENT = '''
from pathlib import Path

PNG = b"\\x89PNG\\r\\n\\x1a\\n"


def files_as_asked(output, row, input, files, model):
    """Every argument a python scorer can name, checked; the note says what it saw."""
    assert all(isinstance(path, Path) and path.is_absolute() for path in files)
    pngs = [path.name for path in files if path.read_bytes()[:8] == PNG]
    seen = f"{model}|{row['id']}|{row['_expected']}|{input['num_outputs']}|{input['seed']}|{output!r}"
    return float(len(pngs) == input["num_outputs"]), f"{seen}|{','.join(pngs)}"


def no_files(files):
    return len(files) == 0
'''


def test_a_python_scorer_gets_the_downloaded_files_and_every_other_argument(tmp_path: Path) -> None:
    copy_model(EXAMPLE_MODELS / "patterns", tmp_path / "models")
    (tmp_path / "scorers.py").write_text(EVERY_ARGUMENT, encoding="utf-8")
    spec = write_spec(
        tmp_path,
        {
            "timeout": TIMEOUT_S,
            "models": [{"cog": "models/patterns", "input": {"num_outputs": 2, "width": 16, "height": 16}}],
            "inputs": [{"id": "sea", "prompt": "ocean", "_expected": "blue"}],
            "matrix": {"seed": [1, 2]},
            "scorers": [
                {"name": "files", "python": "scorers.py:files_as_asked", "threshold": 1},
                {"name": "none", "python": "scorers.py:no_files"},
            ],
        },
    )
    out = tmp_path / "runs"

    assert main([str(spec), "--output-dir", str(out), "--quiet"]) == 0

    run_dir = only_run(out)
    _, rows = read_csv(run_dir)
    assert len(rows) == 2
    for row in rows:
        names = [Path(f).name for f in json.loads(row["files"])]
        seed = row["input.seed"]
        assert row["score.files"] == "1"
        assert row["note.files"] == f"patterns|sea|blue|2|{seed}|''|{','.join(names)}"
        assert (row["score.none"], row["note.none"]) == ("0", "")
        for name in json.loads(row["files"]):
            assert (run_dir / name).read_bytes()[:8] == PNG_SIGNATURE
    # The scorer reads the files where the run folder keeps them: rescore finds them there too.
    assert rescore_run(run_dir).exit_code == 0
    assert [r["note.files"] for r in read_csv(run_dir)[1]] == [r["note.files"] for r in rows]


def test_the_offline_default_is_an_evaluation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"

    assert main([str(REPO / "configs" / "eval.yaml"), "--output-dir", str(out)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-5:] == ["colour", "words", "finished", "files", "judged"]
    by_model = {line.split()[0]: line for line in lines[1:4]}
    # Each caption names its picture's colour, and the bundled judge (a Cog model) agrees.
    assert by_model["caption"].count("1.00 [0.44, 1.00]") == 2
    assert "0.67 [0.21, 0.94]" in by_model["wordsmith"]  # the fridge's long prompt is cut at max_words
    run_dir = only_run(out)
    scores = json.loads((run_dir / "manifest.json").read_text())["scores"]
    assert {model: list(s) for model, s in scores.items()} == {
        "caption": ["colour", "judged"],
        "patterns": ["files"],
        "wordsmith": ["words", "finished"],
    }
    assert (scores["caption"]["colour"]["threshold"], scores["caption"]["colour"]["passed"]) == (0.6, True)
    assert scores["patterns"]["files"]["mean"] == 1.0 and scores["patterns"]["files"]["n"] == 6
    _, rows = read_csv(run_dir)
    assert {r["note.files"] for r in rows if r["model"] == "patterns"} == {"2 PNG files of 2 asked for"}
    assert [(r["score.judged"], r["note.judged"]) for r in rows if r["model"] == "caption"] == [
        ("1", "A")
    ] * 3
    assert lines[5] == ""  # the judges' table stands apart from the models'
    assert lines[6].split() == ["judge", "predictions", "failed", "reused", "predict_s"]
    assert lines[7].split()[:4] == ["judged", "3", "0", "0"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["judges"] == [
        {"scorer": "judged", "model_ref": "cog:../examples/models/judge", "version": None}
    ]
