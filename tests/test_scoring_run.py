"""Scoring in runs, end to end: the real runner and `replicate` client against the emulator.

Each job is scored as it finishes (results.csv `score.<name>` / `note.<name>`), aggregated per
model with its interval (manifest `scores`, the summary, report.html), gated (exit 3), and scored
again when `--resume --force` keeps it under changed scorers.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from replicate_batch import load_results
from replicate_batch.cli import main
from replicate_batch.runfolder.results import COLUMNS, JobResult, ResultColumns, score_cell
from replicate_batch.runfolder.writer import RunFolder
from replicate_batch.scoring.statistics import bootstrap_interval
from tests.emulated import run_scaled
from tests.replicate_emulator import Emulator
from tests.test_report_large import embedded


def write(folder: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def rows_of(run_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


def manifest_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return data


def only_run(output_dir: Path) -> Path:
    (run_dir,) = [p for p in output_dir.iterdir() if p.is_dir()]
    return run_dir


KINDS_SCORERS = '''
def kinds(output, row, input, model):
    """What a python scorer is given, as its note."""
    return 1, f"{type(output).__name__}|{type(row['_n']).__name__}|{','.join(sorted(input))}|{model}"
'''


def test_every_kind_on_text_streamed_and_json_outputs(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "scorers.py").write_text(KINDS_SCORERS, encoding="utf-8")
    spec = {
        "models": ["acme/echo", "acme/llm", "acme/json"],
        "inputs": [
            {"id": "r1", "prompt": "Hello World", "text": "a b c", "_expected": "hello", "_n": 3},
            {"id": "r2", "prompt": "  spaced  ", "text": "one", "_expected": "nope", "_n": 2},
        ],
        "scorers": [
            {"name": "exact", "equals": "{prompt}", "models": ["echo", "llm"]},
            {"name": "hello_ci", "equals": "hello world", "ignore_case": True, "models": ["echo"]},
            {"name": "hello_cs", "equals": "hello world", "models": ["echo"]},
            {"name": "has_expected", "contains": "{_expected}", "ignore_case": True},
            {"name": "capital", "regex": "^[A-Z]"},
            {"name": "words", "close_to": "{_n}", "field": "words", "models": ["json"]},
            {"name": "not_number", "close_to": "1", "models": ["echo"]},
            {"name": "upper", "equals": "{text}", "field": "upper", "ignore_case": True, "models": ["json"]},
            {"name": "missing", "one_of": ["x"], "field": "nope", "models": ["json"]},
            {"name": "not_json", "equals": "x", "field": "a", "models": ["echo"]},
            {"name": "text_field", "one_of": ["a b c", "one"], "field": "text", "models": ["json"]},
            {"name": "schema", "json_schema": {"type": "object", "required": ["words"]}},
            {"name": "py", "python": "scorers.py:kinds"},
        ],
    }
    summary = run_scaled(write(tmp_path, spec), tmp_path / "runs")
    assert summary.exit_code == 0
    header, rows = rows_of(summary.run_dir)
    names = [s["name"] for s in spec["scorers"]]
    score_columns = [c for name in names for c in (f"score.{name}", f"note.{name}")]
    assert header[len(COLUMNS) : len(COLUMNS) + len(score_columns)] == score_columns
    after = [c for c in header[len(COLUMNS) + len(score_columns) :] if not c.startswith("metric.")]
    assert after[0].startswith("input.")  # then the metrics the predictions reported, then the inputs

    got = {(r["model"], r["row_id"]): {n: (r[f"score.{n}"], r[f"note.{n}"]) for n in names} for r in rows}
    blank = ("", "")  # the scorer does not apply to this model
    text_py = ("1", "str|int|prompt|{}")
    expected = {
        ("echo", "r1"): ["1", "1", "0", "1", "1", blank, None, blank, blank, None, blank, "0", text_py],
        ("echo", "r2"): ["1", "0", "0", "0", "0", blank, None, blank, blank, None, blank, "0", text_py],
        ("llm", "r1"): ["1", blank, blank, "1", "1", blank, blank, blank, blank, blank, blank, "0", text_py],
        ("llm", "r2"): ["1", blank, blank, "0", "0", blank, blank, blank, blank, blank, blank, "0", text_py],
        ("json", "r1"): [blank, blank, blank, "0", "0", "1", blank, "1", None, blank, "1", "1", None],
        ("json", "r2"): [blank, blank, blank, "0", "0", "0", blank, "1", None, blank, "1", "1", None],
    }
    for job, cells in expected.items():
        for name, want in zip(names, cells):
            if want is None:
                continue
            want = want if isinstance(want, tuple) else (want, "")
            if name == "py":
                want = (want[0], want[1].format(job[0]).replace("|prompt|", f"|{_input_of(job[0])}|"))
            assert got[job][name] == want, (job, name)
    # Unscored: a value that is not a number, a missing field, an output that is not JSON.
    assert got[("echo", "r1")]["not_number"] == ("", "the output is not a number: 'Hello World'")
    assert got[("json", "r1")]["missing"] == ("", "no field `nope` in the output")
    assert got[("echo", "r2")]["not_json"] == ("", "the output is not JSON, so it has no field `a`")
    # The python scorer gets a JSON output parsed, text as text (streamed text joined), the row's types.
    assert got[("json", "r1")]["py"] == ("1", "dict|int|text|json")

    journaled = [
        JobResult.from_journal(e["result"])
        for e in map(json.loads, (summary.run_dir / "journal.jsonl").read_text().splitlines())
        if e["event"] == "finished"
    ]
    assert {r.model: r.output_json for r in journaled} == {"echo": False, "llm": False, "json": True}
    by_job = {(r.model, r.row_id): dict((n, (v, note)) for n, v, note in r.scores) for r in journaled}
    assert by_job[("json", "r1")]["words"] == (1.0, "")
    assert "exact" not in by_job[("json", "r1")]  # only the scorers that apply to the model


def _input_of(model: str) -> str:
    return {"echo": "prompt", "llm": "prompt", "json": "text"}[model]


def test_a_python_scorer_that_raises_leaves_its_job_unscored_and_is_loaded_once(
    emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "scorers.py").write_text(
        "from pathlib import Path\n"
        "with open(Path(__file__).with_name('loads.txt'), 'a') as f:\n"
        "    f.write('loaded\\n')\n"
        "def picky(output):\n"
        "    if 'boom' in output:\n"
        "        raise RuntimeError('cannot score ' + output)\n"
        "    return 0.5, None\n",
        encoding="utf-8",
    )
    spec = {
        "concurrency": 4,
        "models": ["acme/echo"],
        "inputs": [{"id": str(i), "prompt": "boom" if i == 3 else f"fine {i}"} for i in range(8)],
        "scorers": [{"python": "scorers.py:picky"}],
    }
    summary = run_scaled(write(tmp_path, spec), tmp_path / "runs")

    assert summary.exit_code == 0  # a scorer's error never fails the run
    _, rows = rows_of(summary.run_dir)
    cells = {r["row_id"]: (r["score.python"], r["note.python"]) for r in rows}
    assert cells["3"] == ("", "RuntimeError: cannot score boom")
    assert all(cells[str(i)] == ("0.5", "") for i in range(8) if i != 3)
    assert (tmp_path / "loads.txt").read_text() == "loaded\n"  # once per run, not once per job
    scores = summary.scores["echo"]["python"]
    assert (scores.n, scores.scored, scores.method) == (8, 7, "bootstrap")
    assert scores.mean == pytest.approx(0.5 * 7 / 8)  # the unscored job counts 0


def test_the_summary_says_how_many_succeeded_jobs_went_unscored_and_why(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scorers.py").write_text(
        "def picky(output):\n"
        "    if 'boom' in output:\n"
        "        raise RuntimeError('cannot score ' + output)\n"
        "    return 1\n",
        encoding="utf-8",
    )
    spec = {
        "concurrency": 1,  # results in input order: the first unscored job is `boom 1`
        "models": ["acme/echo"],
        "inputs": [
            {"id": "a", "prompt": "fine"},
            {"id": "b", "prompt": "boom 1"},
            {"id": "c", "prompt": "boom 2"},
            {"id": "d", "prompt": "fine", "fail": True},  # failed: unscored too, but said as failed
        ],
        "scorers": [{"name": "picky", "python": "scorers.py:picky"}, {"name": "starts", "regex": "^[bf]"}],
    }
    out = tmp_path / "runs"
    assert main([str(write(tmp_path, spec)), "--output-dir", str(out)]) == 1
    shown = capsys.readouterr().out
    unscored = [
        "unscored, each counting 0 in its model's mean:",
        "  echo / picky: 2 of 3 succeeded jobs; first note: RuntimeError: cannot score boom 1",
    ]
    lines = shown.splitlines()
    start = lines.index(unscored[0])
    assert lines[start : start + 2] == unscored  # `starts` scored every succeeded job: no line for it
    assert lines[start + 2].startswith("run folder: ")
    manifest = manifest_of(only_run(out))["scores"]["echo"]
    assert (manifest["picky"]["n"], manifest["picky"]["scored"]) == (4, 1)

    report = (only_run(out) / "report.html").read_text(encoding="utf-8")
    # report.html: the cell's text is the interval; the stylesheet shows the count after it
    assert re.search(r"<td class='score partial' data-scored='1 of 4 scored' title='[^']*'>0\.25 \[", report)
    assert re.search(r"<td class='score partial' data-scored='3 of 4 scored' title='[^']*'>0\.75 \[", report)
    assert main(["rescore", str(only_run(out))]) == 1  # rescore's summary says the same
    assert unscored[1] in capsys.readouterr().out.splitlines()


def test_wilson_interval_for_two_of_five_in_the_manifest_summary_and_report(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "models": ["acme/echo"],
        "inputs": [
            {"id": str(i), "prompt": f"p{i}", "_expected": f"p{i}" if i < 2 else "no"} for i in range(5)
        ],
        "scorers": [{"name": "label", "equals": "{_expected}"}],
    }
    out = tmp_path / "runs"
    assert main([str(write(tmp_path, spec)), "--output-dir", str(out)]) == 0
    run_dir = only_run(out)

    scores = manifest_of(run_dir)["scores"]
    assert list(scores) == ["echo"] and list(scores["echo"]) == ["label"]
    label = scores["echo"]["label"]
    assert list(label) == [
        "mean",
        "ci_low",
        "ci_high",
        "n",
        "rows",
        "scored",
        "threshold",
        "passed",
        "method",
    ]
    assert (label["n"], label["rows"], label["scored"]) == (5, 5, 5)
    assert (label["method"], label["threshold"], label["passed"]) == ("wilson", None, None)
    assert label["mean"] == pytest.approx(0.4)
    # Wilson's 95% interval for 2 of 5: [0.1176, 0.7693].
    assert label["ci_low"] == pytest.approx(0.11762, abs=1e-4)
    assert label["ci_high"] == pytest.approx(0.76928, abs=1e-4)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "label"  # a column per scorer in the summary table
    assert next(line for line in lines if line.startswith("echo")).endswith("0.40 [0.12, 0.77]")
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert ">0.40 [0.12, 0.77]</td>" in report  # the summary cell
    assert "<td class='score' title=" in report and "data-scored=" not in report  # every job scored
    data = embedded(report)  # a badge per grid cell: each job's score cells, in the scorers' order
    assert data["scorers"] == ["label"]
    assert sorted(job["sc"] for job in data["jobs"]) == [["0"], ["0"], ["0"], ["1"], ["1"]]


def test_the_bootstrap_over_rows_with_repeat_3(emu: Emulator, tmp_path: Path) -> None:
    spec = {
        "repeat": 3,
        "models": ["acme/echo"],
        "inputs": [{"id": str(i), "prompt": f"p{i}", "_ok": "p" + str(i if i % 3 else -1)} for i in range(6)],
        "scorers": [{"name": "ok", "equals": "{_ok}"}],
    }
    summary = run_scaled(write(tmp_path, spec), tmp_path / "runs")
    ok = manifest_of(summary.run_dir)["scores"]["echo"]["ok"]
    assert (ok["n"], ok["rows"], ok["scored"], ok["method"]) == (18, 6, 18, "bootstrap")
    assert ok["mean"] == pytest.approx(4 / 6)
    # The rows, not the jobs, are resampled: three repeats of a row move together.
    pairs = [(str(i), 1.0 if i % 3 else 0.0) for i in range(6) for _ in range(3)]
    low, high = bootstrap_interval(pairs)
    assert (ok["ci_low"], ok["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    jobs_as_rows = bootstrap_interval([(str(n), v) for n, (_, v) in enumerate(pairs)])
    assert high - low > jobs_as_rows[1] - jobs_as_rows[0]  # wider than if 18 jobs were independent


def test_exit_3_names_the_threshold_not_met_and_failures_take_precedence(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [{"id": str(i), "prompt": f"p{i}", "_expected": f"p{i}" if i < 2 else "x"} for i in range(5)]
    spec: dict[str, Any] = {
        "models": ["acme/echo"],
        "inputs": inputs,
        "scorers": [{"name": "label", "equals": "{_expected}", "threshold": 0.8}, {"regex": "^p"}],
    }
    path = write(tmp_path, spec)
    assert main([str(path), "--output-dir", str(tmp_path / "a"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "threshold not met: echo / label: mean 0.40 [0.12, 0.77] < 0.80\n" in err  # all 5 scored
    assert "regex" not in err  # a scorer without a threshold is no gate

    spec["scorers"][0]["threshold"] = 0.4  # met exactly
    assert main([str(write(tmp_path, spec)), "--output-dir", str(tmp_path / "b"), "--quiet"]) == 0
    assert "threshold" not in capsys.readouterr().err

    spec["scorers"][0]["threshold"] = 0.8
    spec["inputs"] = [*inputs, {"id": "bad", "prompt": "p", "fail": True, "_expected": "p"}]
    assert main([str(write(tmp_path, spec)), "--output-dir", str(tmp_path / "c"), "--quiet"]) == 1
    err = capsys.readouterr().err  # said, not the status; the failed job is not scored
    assert "threshold not met: echo / label: mean 0.33 [0.10, 0.70] < 0.80 (5 of 6 jobs scored)" in err


def test_resume_force_with_changed_scorers_scores_the_kept_jobs_again(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [{"id": str(i), "prompt": f"p{i}", "_expected": "p0"} for i in range(4)]
    spec: dict[str, Any] = {
        "models": ["acme/echo"],
        "inputs": inputs,
        "scorers": [{"name": "old", "equals": "{_expected}"}],
    }
    out = tmp_path / "runs"
    assert main([str(write(tmp_path, spec)), "--output-dir", str(out), "--limit", "2", "--quiet"]) == 0
    run_dir = only_run(out)
    assert emu.count("create") == 2

    spec["scorers"] = [
        {"name": "new", "regex": "^p[13]$"},
        {"name": "later", "contains": "p", "models": ["echo"]},
    ]
    path = write(tmp_path, spec)
    assert main([str(path), "--resume", str(run_dir), "--quiet"]) == 2  # the spec changed: refused
    capsys.readouterr()
    assert main([str(path), "--resume", str(run_dir), "--force"]) == 0
    assert emu.count("create") == 4  # the kept jobs were not run again
    # The summary's table counts the whole run, as its scores do: the 2 kept jobs and the 2 run now.
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["model", "jobs", "succeeded", "failed"]
    assert table[1].split()[:4] == ["echo", "4", "4", "0"]
    assert table[1].endswith("0.50 [0.15, 0.85]  1.00 [0.51, 1.00]")  # new, later: Wilson's for 2/4, 4/4

    header, rows = rows_of(run_dir)
    assert "score.old" not in header
    assert header[len(COLUMNS) : len(COLUMNS) + 4] == ["score.new", "note.new", "score.later", "note.later"]
    assert sorted((r["row_id"], r["score.new"], r["score.later"]) for r in rows) == [
        ("0", "0", "1"),
        ("1", "1", "1"),
        ("2", "0", "1"),
        ("3", "1", "1"),
    ]
    scores = manifest_of(run_dir)["scores"]["echo"]
    assert list(scores) == ["new", "later"]
    assert (scores["new"]["n"], scores["new"]["mean"]) == (4, 0.5)


def test_every_scoring_mistake_is_reported_at_once_with_the_other_problems(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scorers.py").write_text("def exact_label(output):\n    return 1\n", encoding="utf-8")
    spec = {
        "models": ["acme/echo", {"ref": "acme/json", "name": "structured"}],
        "inputs": [{"id": "a", "prompt": "hi", "text": "x", "_expected": "hi", "_category": "c"}],
        "matrix": {"sede": [1]},  # a problem outside scoring
        "group_by": ["_categry"],
        "scorers": [
            {"equals": "{_expected}", "treshold": 0.5},
            {"contains": "{_expcted}", "models": ["structurd"]},
            {"regex": "(unclosed"},
            {"equals": "a", "one_of": ["a"]},
            {"python": "scorers.py:exact_labl"},
            {"python": "nowhere.py:f"},
            {
                "name": "judged",
                "judge": "meta/meta-llama-3-70b-instruct",
                "ask": {"prompt": "{output} vs {_expectd}"},
                "choices": {"A": 1, "B": 0},
            },
        ],
    }
    path = write(tmp_path, spec)
    assert main([str(path), "--output-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    expected = [
        "matrix.sede: no model takes `sede`",
        "scorers[0].treshold: unknown key `treshold` (did you mean `threshold`?)",
        "scorers[1].models[0]: no model is named 'structurd' (did you mean `structured`?)",
        "scorers[1].contains: `{_expcted}`: no row has a field `_expcted` (did you mean `_expected`?)",
        "scorers[2].regex: invalid regex",
        "scorers[3]: 2 kinds (`equals`, `one_of`)",
        "scorers[4].python: scorers.py has no function `exact_labl` (did you mean `exact_label`?)",
        f"scorers[5].python: no such file: {tmp_path.resolve() / 'nowhere.py'}",
        "scorers[6].ask.prompt: `{_expectd}`: no row has a field `_expectd` (did you mean `_expected`?)",
        "group_by[0]: no row has a metadata field `_categry` (did you mean `_category`?)",
    ]
    for line in expected:
        assert f"{path}: {line}" in err, line
    assert "nothing was run" in err
    assert emu.count("create") == 0
    assert not (tmp_path / "runs").exists()


def test_group_by_gives_aggregates_per_value(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "models": ["acme/echo"],
        "group_by": ["_kind"],
        "inputs": [
            {"id": "1", "prompt": "a", "_kind": "short", "_expected": "a"},
            {"id": "2", "prompt": "b", "_kind": "short", "_expected": "x"},
            {"id": "3", "prompt": "long one", "_kind": "long", "_expected": "long one"},
        ],
        "scorers": [{"name": "label", "equals": "{_expected}"}],
    }
    out = tmp_path / "runs"
    assert main([str(write(tmp_path, spec)), "--output-dir", str(out)]) == 0
    run_dir = only_run(out)
    by = manifest_of(run_dir)["scores_by"]
    assert list(by) == ["_kind"] and list(by["_kind"]) == ["short", "long"]
    assert (by["_kind"]["short"]["echo"]["label"]["mean"], by["_kind"]["short"]["echo"]["label"]["n"]) == (
        0.5,
        2,
    )
    assert by["_kind"]["long"]["echo"]["label"]["mean"] == 1.0
    stdout = capsys.readouterr().out
    assert "_kind  model" in stdout
    assert [line.split()[:3] for line in stdout.splitlines() if line.startswith(("short", "long"))] == [
        ["short", "echo", "0.50"],
        ["long", "echo", "1.00"],
    ]
    assert "Scores by _kind" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_load_results_gives_scores_as_numbers_and_notes_as_text(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "scorers.py").write_text(
        "def half(output):\n    return (0.5, '7') if output == 'p1' else None\n", encoding="utf-8"
    )
    spec = {
        "models": ["acme/echo"],
        "inputs": [
            {"id": "0", "prompt": "p0"},
            {"id": "1", "prompt": "p1"},
            {"id": "2", "prompt": "x", "fail": True},
        ],
        "scorers": [{"name": "exact", "equals": "p0"}, {"name": "half", "python": "scorers.py:half"}],
    }
    summary = run_scaled(write(tmp_path, spec), tmp_path / "runs")
    assert summary.exit_code == 1
    df = load_results(summary.run_dir).set_index("row_id")
    assert str(df["score.exact"].dtype) == "float64" and str(df["score.half"].dtype) == "float64"
    assert df.loc["0", "score.exact"] == 1.0 and df.loc["1", "score.exact"] == 0.0
    assert math.isnan(df.loc["2", "score.exact"])  # a failed job is not scored
    assert math.isnan(df.loc["0", "score.half"])  # None: unscored
    assert df.loc["1", "note.half"] == "7"  # a note stays text, however it looks
    assert df.groupby("model")["score.exact"].mean()["echo"] == 0.5  # pandas skips the unscored job


def test_score_cells_and_columns_have_one_order() -> None:
    columns = ResultColumns(scores=("a", "b"), inputs=("prompt",), metadata=("_x",))
    header = columns.header()
    assert header[len(COLUMNS) :] == ["score.a", "note.a", "score.b", "note.b", "input.prompt", "_x"]
    assert ResultColumns.from_header(header) == columns
    assert [score_cell(v) for v in (None, 1.0, 0.0, 0.25, 3.0)] == ["", 1, 0, 0.25, 3]
    result = JobResult("j", "m", "r", 0, "succeeded", scores=(("b", 0.5, "half"),), input={"prompt": "p"})
    cells = columns.cells(result, "run", "ref")
    assert cells[len(COLUMNS) :] == ["", "", 0.5, "half", "p", ""]


def test_journal_lines_of_older_runs_load_with_or_without_scores(tmp_path: Path) -> None:
    line = {"job_id": "j", "model": "m", "row_id": "r", "repeat": 0, "status": "succeeded", "output": "x"}
    result = JobResult.from_journal(line)
    assert (result.scores, result.output_json, result.output_value) == ((), False, "x")
    again = JobResult.from_journal(
        {**line, "output": '{"a": 1}', "output_json": True, "scores": [["s", 1, ""], ["t", None, "why"]]}
    )
    assert again.scores == (("s", 1.0, ""), ("t", None, "why")) and again.output_value == {"a": 1}
    # As journals have them now: values by name (whole numbers as ints), and the notes there are.
    now = again.with_scores((*again.scores, ("u", 0.25, 'a "quoted" note, é')))
    folder = RunFolder.create(tmp_path, "j", ResultColumns(scores=("s", "t", "u")))
    folder.open("name: j\n", {"m": "acme/m"}, "hash")
    folder.record(now)
    folder.close()
    text = (folder.path / "journal.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)[-1]
    assert text.endswith("}}\n") and '"scores": {"s": 1, "t": null, "u": 0.25}' in text
    journaled = json.loads(text)["result"]
    assert journaled["notes"] == {"t": "why", "u": 'a "quoted" note, é'}
    assert JobResult.from_journal(journaled) == now
