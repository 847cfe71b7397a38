"""`--junit FILE` on a run and on `compare`: JUnit XML that CI reads, checked against tests/junit.xsd."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from replicate_batch.cli import main
from replicate_batch.reports.junit import JUnitCase, junit_xml, run_junit
from tests.emulated import emulated
from tests.junit_schema import problems
from tests.scored_runs import run_scored

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x00"  # terminal escapes, and a NUL that XML cannot hold at all


def cases(document: str) -> list[tuple[str, str, str, str]]:
    """(classname, name, outcome, message) per test case; outcome is passed, failure or skipped."""
    found = []
    for case in ET.fromstring(document).iter("testcase"):
        outcome = next((child for child in case if child.tag in ("failure", "skipped")), None)
        kind = outcome.tag if outcome is not None else "passed"
        message = outcome.get("message", "") if outcome is not None else case.findtext("system-out", "")
        found.append((case.get("classname", ""), case.get("name", ""), kind, message))
    return found


def counts(document: str) -> dict[str, str]:
    suite = ET.fromstring(document).find("testsuite")
    assert suite is not None
    return {key: suite.get(key, "") for key in ("tests", "failures", "errors", "skipped")}


def suite(attributes: str = 'tests="1" failures="0" errors="0"', inner: str = "") -> str:
    return f'<testsuites><testsuite name="s" {attributes}>{inner}</testsuite></testsuites>'


def test_the_schema_check_finds_what_departs_from_the_schema() -> None:
    assert problems(suite(inner='<testcase classname="c" name="n"/>')) == []
    case = '<testcase classname="c" name="n">{}</testcase>'
    bad = {
        suite('tests="1" failures="0"'): "required attribute errors",
        suite('tests="x" failures="0" errors="0"'): "not xs:nonNegativeInteger",
        '<testsuites><testcase classname="c" name="n"/></testsuites>': "out of place",
        suite(inner="text"): "text where",
        suite(inner=case.format("<system-out/><failure/>")): "out of place",
        suite(inner=case.format("<failure/><skipped/>")): "out of place",
        suite('tests="0" failures="0" errors="0" when="now"'): "not declared",
        suite('tests="0" failures="0" errors="0" timestamp="yesterday"'): "dateTime",
        "<results/>": "not declared",
    }
    for document, expected in bad.items():
        found = problems(document)
        assert found and expected in found[0], (document, found)


def test_text_xml_cannot_hold_is_written_escaped() -> None:
    document = junit_xml(f"suite{HOSTILE}", [JUnitCase("model", f"row{HOSTILE}", failure=f"boom{HOSTILE}")])
    assert problems(document) == []
    ((_, name, kind, message),) = cases(document)
    assert name == r"row\x1b]0;pwned\x07\x1b[2J\x00" and kind == "failure" and message.startswith(r"boom\x1b")


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(json.dumps(spec), encoding="utf-8")  # JSON is YAML, with control characters escaped
    return path


def test_a_run_and_rescore_write_their_gates_and_failed_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": "ok", "prompt": "a"}, {"id": f"bad{HOSTILE}", "prompt": "b", "fail": True}]
    scorers = [{"name": "has_a", "contains": "a", "threshold": 0.9}]
    spec = write_spec(tmp_path / "spec.json", {"models": ["acme/echo"], "inputs": rows, "scorers": scorers})
    target = tmp_path / "reports" / "junit.xml"
    with emulated():
        assert main([str(spec), "--output-dir", str(tmp_path / "runs"), "--junit", str(target)]) == 1
    assert f"junit: {target}" in capsys.readouterr().err
    document = target.read_text(encoding="utf-8")
    assert problems(document) == []
    expected = [
        ("echo", "has_a", "failure", "threshold not met: mean 0.50 [0.09, 0.91] < 0.90 (1 of 2 jobs scored)"),
        ("echo", r"echo · bad\x1b]0;pwned\x07\x1b[2J\x00", "failure", "failed: asked to fail"),
    ]
    assert cases(document) == expected
    assert counts(document) == {"tests": "2", "failures": "2", "errors": "0", "skipped": "0"}
    # rescore with a lower threshold: the gate passes, the failed job is still one
    (run_dir,) = (tmp_path / "runs").iterdir()
    lenient = write_spec(tmp_path / "lenient.json", {"scorers": [{**scorers[0], "threshold": 0.5}]})
    again = tmp_path / "rescored.xml"
    assert main(["rescore", str(run_dir), "--spec", str(lenient), "--junit", str(again)]) == 1
    rescored = again.read_text(encoding="utf-8")
    assert problems(rescored) == []
    gate = ("echo", "has_a", "passed", "mean 0.50 [0.09, 0.91] >= 0.50 (1 of 2 jobs scored)")
    assert cases(rescored) == [gate, expected[1]]


def test_a_junit_file_that_cannot_be_written_stops_the_run_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path / "spec.json", {"models": ["acme/echo"], "inputs": [{"prompt": "a"}]})
    (tmp_path / "taken").mkdir()
    runs = tmp_path / "runs"
    code = main([str(spec), "--output-dir", str(runs), "--junit", str(tmp_path / "taken")])
    assert code == 2 and not runs.exists()
    assert (
        capsys.readouterr().err == f"error: --junit {tmp_path / 'taken'}: {tmp_path / 'taken'} is a folder\n"
    )


def scored_spec(passing: int, scorers: list[Any]) -> dict[str, Any]:
    rows = [{"id": f"r{i}", "prompt": "yes" if i < passing else "no"} for i in range(10)]
    return {"name": "gate", "models": ["double/m", "double/n"], "inputs": rows, "scorers": scorers}


def test_each_model_and_scorer_gate_is_a_test_case(tmp_path: Path) -> None:
    scorers = [{"name": "hit", "contains": "yes", "threshold": 0.8}, {"name": "any", "regex": "."}]
    run_dir = run_scored(scored_spec(7, scorers), tmp_path, tmp_path / "runs")
    document = run_junit(run_dir)
    assert problems(document) == []
    assert cases(document) == [
        ("m", "hit", "failure", "threshold not met: mean 0.70 [0.40, 0.89] < 0.80"),
        ("m", "any", "passed", "mean 1.00 [0.72, 1.00] (no threshold)"),
        ("n", "hit", "failure", "threshold not met: mean 0.70 [0.40, 0.89] < 0.80"),
        ("n", "any", "passed", "mean 1.00 [0.72, 1.00] (no threshold)"),
    ]
    assert counts(document) == {"tests": "4", "failures": "2", "errors": "0", "skipped": "0"}
    passing = run_junit(run_scored(scored_spec(9, scorers[:1]), tmp_path, tmp_path / "runs"))
    assert cases(passing)[0] == ("m", "hit", "passed", "mean 0.90 [0.60, 0.98] >= 0.80")


def test_compare_writes_regressions_skips_and_new_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hit, extra = {"name": "hit", "contains": "yes"}, {"name": "extra", "regex": "."}
    run_a = run_scored(scored_spec(10, [hit]), tmp_path, tmp_path / "a")
    spec_b = scored_spec(1, [hit, extra])
    spec_b["inputs"][9]["prompt"] = "fail"  # a new failure
    run_b = run_scored(spec_b, tmp_path, tmp_path / "b")
    target = tmp_path / "compare.xml"
    assert main(["compare", str(run_a), str(run_b), "--junit", str(target)]) == 1
    assert capsys.readouterr().out.rstrip().endswith(f"junit: {target}")
    document = target.read_text(encoding="utf-8")
    assert problems(document) == []
    found = cases(document)
    # 9 of 10 flip to worse (the failed one counts 0): McNemar p = 2/2^9, doubled by Holm. Newcombe's
    # interval, from Wilson's for 10/10 ([0.7225, 1]) and 1/10 ([0.0179, 0.4042]), phi 0:
    # -0.9 - (0.1 - 0.0179) and -0.9 + sqrt((1 - 0.7225)^2 + (0.4042 - 0.1)^2)
    regression = (
        "significantly lower: mean 1.00 -> 0.10, diff -0.90 [-0.98, -0.49], p 0.004, Holm-adjusted 0.008"
    )
    assert [(c, n, k) for c, n, k, _ in found] == [
        ("m", "hit", "failure"),
        ("n", "hit", "failure"),
        ("m", "extra", "skipped"),
        ("n", "extra", "skipped"),
        ("m", "m · r9", "failure"),
        ("n", "n · r9", "failure"),
    ]
    assert found[0][3] == regression + " (mcnemar, 10 jobs)"
    assert found[2][3] == "scored only in B"
    assert found[4][3] == "new failure: succeeded -> failed: the double was asked to fail"
    assert counts(document) == {"tests": "6", "failures": "4", "errors": "0", "skipped": "2"}
