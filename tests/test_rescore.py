"""`rescore RUN_DIR [--spec SPEC]`: a finished run scored again, nothing created, results.csv rewritten."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import replicate_batch as rb
from replicate_batch.cli import main
from replicate_batch.runfolder.results import ResultColumns
from replicate_batch.runfolder.writer import RunFolder
from tests.replicate_emulator import Emulator

ROWS = (
    "id,prompt,text,_expected,_n\nr1,Hello World,a b c,hello,3\nr2,spaced,one,nope,2\nr3,p3,two words,p3,2\n"
)

SCORERS = '''
def seen(output, row, input, files, model):
    """What a python scorer is given, as its note: the same in a run and in rescore."""
    kind = type(output).__name__
    return len(str(output)) % 2, f"{kind}|{sorted(row.items())}|{sorted(input.items())}|{len(files)}|{model}"
'''


def write(folder: Path, data: dict[str, Any], name: str) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def table(run_dir: Path) -> tuple[list[str], list[list[str]]]:
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def without_scores(run_dir: Path) -> list[list[str]]:
    header, rows = table(run_dir)
    keep = [i for i, name in enumerate(header) if not name.startswith(("score.", "note."))]
    return [[row[i] for i in keep] for row in [header, *rows]]


def scores(run_dir: Path) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    header, rows = table(run_dir)
    names = [h.removeprefix("score.") for h in header if h.startswith("score.")]
    at = {name: i for i, name in enumerate(header)}
    return {
        (row[at["model"]], row[at["row_id"]]): {
            n: (row[at[f"score.{n}"]], row[at[f"note.{n}"]]) for n in names
        }
        for row in rows
    }


@pytest.fixture
def finished_run(emu: Emulator, tmp_path: Path) -> Path:
    """A run of a text model and a JSON model over CSV rows, with four scorers; its run folder."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "rows.csv").write_text(ROWS, encoding="utf-8")
    (spec_dir / "scorers.py").write_text(SCORERS, encoding="utf-8")
    spec = {
        "models": ["acme/echo", "acme/json"],
        "inputs": "rows.csv",
        "group_by": ["_expected"],
        "scorers": [
            {"name": "label", "contains": "{_expected}", "ignore_case": True},
            {"name": "words", "close_to": "{_n}", "field": "words", "models": ["json"]},
            {"name": "seen", "python": "scorers.py:seen"},
            # A built-in kind after the python scorer: a job's scores stay in spec order in a run, in
            # `--resume` and in rescore
            {"name": "capital", "regex": "^[A-Z]"},
        ],
    }
    out = tmp_path / "runs"
    assert main([str(write(spec_dir, spec, "eval.yaml")), "--output-dir", str(out), "--quiet"]) == 0
    (run_dir,) = out.iterdir()
    return run_dir


def test_rescore_with_the_same_scorers_rewrites_results_csv_byte_for_byte(
    emu: Emulator, finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (finished_run / "results.csv").read_bytes()
    manifest = json.loads((finished_run / "manifest.json").read_text())
    creates = emu.count("create")

    assert main(["rescore", str(finished_run)]) == 0

    assert (finished_run / "results.csv").read_bytes() == before  # the python scorer saw the same facts
    assert emu.count("create") == creates
    again = json.loads((finished_run / "manifest.json").read_text())
    assert again["scores"] == manifest["scores"] and again["scores_by"] == manifest["scores_by"]
    assert again["versions"] == manifest["versions"] and again["counts"] == manifest["counts"]
    assert len(again["rescored_at"]) == 1
    out = capsys.readouterr().out
    assert "label" in out.splitlines()[0] and f"run folder: {finished_run}" in out
    last = json.loads((finished_run / "journal.jsonl").read_text().splitlines()[-1])
    assert (last["event"], last["spec"], last["scorers"]) == (
        "rescored",
        "spec.yaml",
        ["label", "words", "seen", "capital"],
    )


def test_rescore_with_other_scorers_changes_only_the_score_columns(
    emu: Emulator, finished_run: Path, tmp_path: Path
) -> None:
    before = without_scores(finished_run)
    old_scores = scores(finished_run)
    creates = emu.count("create")
    other = tmp_path / "other"
    other.mkdir()
    (other / "more.py").write_text("def length(output):\n    return len(output)\n", encoding="utf-8")
    spec = write(
        other,
        {
            "scorers": [
                {"name": "exact", "equals": "{prompt}", "threshold": 0.9},
                {"python": "more.py:length"},
            ]
        },
        "scorers.yaml",
    )

    summary = rb.rescore_run(finished_run, spec)

    assert emu.count("create") == creates
    assert without_scores(finished_run) == before  # every other cell as it was
    header, _ = table(finished_run)
    assert [h for h in header if h.startswith(("score.", "note."))] == [
        "score.exact", "note.exact", "score.python", "note.python"
    ]  # fmt: skip
    new = scores(finished_run)
    assert new != old_scores
    assert new[("echo", "r3")] == {"exact": ("1", ""), "python": ("2", "")}
    assert new[("echo", "r1")]["exact"] == ("1", "") and new[("json", "r1")]["exact"] == ("0", "")
    manifest = json.loads((finished_run / "manifest.json").read_text())
    assert list(manifest["scores"]["echo"]) == ["exact", "python"]
    assert list(manifest["scores_by"]) == ["_expected"]  # a SPEC without group_by keeps the run's
    # exact: 3 of 3 for echo, 0 of 3 for json (its output is JSON): json misses the threshold.
    assert summary.exit_code == 3
    assert summary.gate_failures == ["threshold not met: json / exact: mean 0.00 [0.00, 0.56] < 0.90"]
    assert "exact" in (finished_run / "report.html").read_text(encoding="utf-8")


def test_a_crash_during_rescore_leaves_the_old_results_csv_whole(finished_run: Path, tmp_path: Path) -> None:
    before = (finished_run / "results.csv").read_bytes()
    manifest = (finished_run / "manifest.json").read_bytes()
    (tmp_path / "crash.py").write_text(
        "import os\ncalls = []\ndef dies(output):\n    calls.append(1)\n    if len(calls) == 3:\n"
        "        os._exit(9)  # as a kill -9 in the middle of the rewrite\n    return 1\n",
        encoding="utf-8",
    )
    spec = write(tmp_path, {"scorers": [{"python": "crash.py:dies"}]}, "crash.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "replicate_batch", "rescore", str(finished_run), "--spec", str(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 9, done.stderr
    assert (finished_run / "results.csv").read_bytes() == before
    assert (finished_run / "manifest.json").read_bytes() == manifest
    # The folder is not left locked: the next rescore runs.
    assert main(["rescore", str(finished_run)]) == 0
    assert (finished_run / "results.csv").read_bytes() == before


def test_rescore_refuses_a_folder_being_written(
    finished_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = RunFolder.reopen(finished_run, ResultColumns())
    try:
        assert main(["rescore", str(finished_run)]) == 2
    finally:
        holder.close()
    assert f"{finished_run} is being written by process {os.getpid()}" in capsys.readouterr().err


def test_rescore_without_the_rows_file_is_exit_2_naming_it(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (finished_run / "results.csv").read_bytes()
    (tmp_path / "spec" / "rows.csv").rename(tmp_path / "spec" / "moved.csv")
    assert main(["rescore", str(finished_run)]) == 2
    err = capsys.readouterr().err
    assert f"cannot read the rows file {tmp_path / 'spec' / 'rows.csv'}" in err
    assert "rescore reads the run's rows again" in err
    assert (finished_run / "results.csv").read_bytes() == before


def test_rescore_reports_every_scorer_mistake_and_changes_nothing(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (finished_run / "results.csv").read_bytes()
    spec = write(
        tmp_path,
        {"scorers": [{"equals": "{_expectd}"}, {"regex": "("}, {"python": "gone.py:f"}], "group_by": ["_x"]},
        "bad.yaml",
    )
    assert main(["rescore", str(finished_run), "--spec", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: scorers[0].equals: `{{_expectd}}`: no row has a field `_expectd`" in err
    assert f"{spec}: scorers[1].regex: invalid regex" in err
    assert f"{spec}: scorers[2].python: no such file" in err
    assert f"{spec}: group_by[0]: no row has a metadata field `_x`" in err
    assert "nothing was changed" in err
    assert (finished_run / "results.csv").read_bytes() == before


def test_rescore_of_a_run_with_failures_exits_1(emu: Emulator, tmp_path: Path) -> None:
    spec = {
        "models": ["acme/echo"],
        "inputs": [{"id": "a", "prompt": "a"}, {"id": "b", "prompt": "b", "fail": True}],
        "scorers": [{"equals": "a", "threshold": 1}],
    }
    out = tmp_path / "runs"
    assert main([str(write(tmp_path, spec, "spec.yaml")), "--output-dir", str(out), "--quiet"]) == 1
    (run_dir,) = out.iterdir()
    summary = rb.rescore_run(run_dir)
    assert summary.exit_code == 1 and summary.counts == {"succeeded": 1, "failed": 1}
    assert summary.scores["echo"]["equals"].n == 2 and summary.scores["echo"]["equals"].scored == 1


def test_a_run_journals_each_jobs_scores_in_spec_order(finished_run: Path) -> None:
    # Built-in kinds before and after the python scorer: the journal keeps spec order.
    events = [json.loads(line) for line in (finished_run / "journal.jsonl").read_text().splitlines()]
    orders = {
        (event["result"]["model"], tuple(event["result"]["scores"]))
        for event in events
        if event["event"] == "finished" and "judge" not in event
    }
    assert orders == {("echo", ("label", "seen", "capital")), ("json", ("label", "words", "seen", "capital"))}
