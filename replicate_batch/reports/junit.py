"""JUnit XML for CI: a run's score gates and failed jobs, or a comparison's regressions.

GitHub Actions (through a test-report action), GitLab and Jenkins all read the same small part of the
format, and only that part is written (`tests/junit.xsd` describes it): `<testsuites>` holding one
`<testsuite>` (name, counts, timestamp) of `<testcase classname name time>` elements, each passing,
or holding one `<failure message type>` (with the details as text) or one `<skipped message>`, and
maybe a `<system-out>`. A test case's class is the model and its name the scorer or the job, which stay
the same from run to run, so CI can follow them over time.

- A run (and `rescore`): per model and scorer a test case (its gate: failed when the mean is below the
  scorer's `threshold`; the mean and interval are its output), and per failed or canceled job one that
  failed with the job's error.
- `compare`: per model and scorer compared a test case (failed when B's mean is significantly lower),
  one skipped per (model, scorer) scored in one run only, and per new failure one that failed.

Text that XML cannot hold (most control characters) is written escaped, as `\\x1b`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..scoring.board import scored_text, threshold_text
from .compare import Comparison
from .records import FAILED_STATUSES, load_run, read_results
from .run_scores import ScoreSummary, manifest_scores
from .score_text import p_text

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MESSAGE_CHARS = 500  # a failure's message attribute is cut here; its text holds the whole


@dataclass(frozen=True)
class JUnitCase:
    """One `<testcase>`: passed (`failure` and `skipped` empty), failed or skipped."""

    classname: str
    name: str
    time_s: float = 0.0
    failure: str = ""  # the message; the failure's text is `details`, else the message
    failure_type: str = ""
    details: str = ""
    skipped: str = ""
    output: str = ""  # `<system-out>`


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else "\ufffd", value)


def junit_xml(suite: str, cases: Sequence[JUnitCase], timestamp: str = "") -> str:
    """The document: one suite of these test cases, with the counts CI shows."""
    failures = sum(bool(c.failure) for c in cases)
    skipped = sum(bool(c.skipped) and not c.failure for c in cases)
    total_s = sum(c.time_s for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", {"name": _text(suite), **counts, "time": f"{total_s:.3f}"})
    attributes = {"name": _text(suite), **counts, "time": f"{total_s:.3f}"}
    if timestamp:
        attributes["timestamp"] = _text(timestamp[:19])  # ISO 8601 without zone, as the format has it
    element = ET.SubElement(root, "testsuite", attributes)
    for case in cases:
        node = ET.SubElement(
            element,
            "testcase",
            {"classname": _text(case.classname), "name": _text(case.name), "time": f"{case.time_s:.3f}"},
        )
        if case.failure:
            message = (
                case.failure if len(case.failure) <= MESSAGE_CHARS else case.failure[:MESSAGE_CHARS] + "…"
            )
            failure = ET.SubElement(
                node, "failure", {"message": _text(message), "type": _text(case.failure_type)}
            )
            failure.text = _text(case.details or case.failure)
        elif case.skipped:
            ET.SubElement(node, "skipped", {"message": _text(case.skipped)})
        if case.output:
            ET.SubElement(node, "system-out").text = _text(case.output)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def gate_case(model: str, scorer: str, summary: ScoreSummary) -> JUnitCase:
    """A scorer's gate for one model: failed when its mean is below the threshold."""
    scored = scored_text(summary.scored, summary.n)
    if summary.threshold is None:
        return JUnitCase(model, scorer, output=f"mean {summary.text} (no threshold){scored}")
    comparison = f"mean {summary.text} {'>=' if summary.passed else '<'} {threshold_text(summary.threshold)}"
    comparison += scored
    if summary.passed:
        return JUnitCase(model, scorer, output=comparison)
    return JUnitCase(model, scorer, failure=f"threshold not met: {comparison}", failure_type="threshold")


def _seconds(cell: str) -> float:
    try:
        return max(0.0, float(cell))
    except ValueError:
        return 0.0


def run_junit(run_dir: str | Path) -> str:
    """A run folder as JUnit XML: its gates (manifest `scores`), then its failed and canceled jobs."""
    run = load_run(run_dir, with_results=False)
    scores = manifest_scores(run.manifest) or {}
    order = {name: i for i, name in enumerate(run.model_names)}
    cases = [
        gate_case(model, scorer, summary)
        for model in sorted(scores, key=lambda m: order.get(m, len(order)))
        for scorer, summary in scores[model].items()
    ]
    for record in read_results(run.path):
        if record["status"] in FAILED_STATUSES:
            error = record.get("error") or record["status"]
            cases.append(
                JUnitCase(
                    record["model"],
                    run.job_label(record),
                    _seconds(record.get("wall_time", "")),
                    failure=f"{record['status']}: {error.splitlines()[0] if error.strip() else error}",
                    failure_type=record["status"],
                    details=error,
                )
            )
    return junit_xml(f"replicate_batch {run.run_id}", cases, run.manifest.started_at or "")


def comparison_junit(c: Comparison) -> str:
    """A comparison as JUnit XML: a case per (model, scorer) compared and per new failure."""
    cases = []
    for pair in c.scores.pairs:
        r = pair.result
        if r is None:
            cases.append(JUnitCase(pair.model, pair.scorer, skipped="no job in both runs"))
            continue
        text = (
            f"mean {r.mean_a:.2f} -> {r.mean_b:.2f}, diff {r.diff:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}], "
            f"p {p_text(r.p_value)}, Holm-adjusted {p_text(pair.p_holm)} ({pair.test}, {pair.jobs} jobs"
            + (f" in {pair.rows} rows)" if pair.rows is not None else ")")
        )
        if pair.verdict == "worse":
            cases.append(
                JUnitCase(
                    pair.model, pair.scorer, failure=f"significantly lower: {text}", failure_type="regression"
                )
            )
        else:
            cases.append(JUnitCase(pair.model, pair.scorer, output=text))
    for side, pairs in (("A", c.scores.only_a), ("B", c.scores.only_b)):
        cases += [JUnitCase(model, scorer, skipped=f"scored only in {side}") for model, scorer in pairs]
    for change in c.new_failures:
        model = change.label.split(" · ", 1)[0]  # a label starts with the model's name, which has no " · "
        before = change.before or "only in B"
        cases.append(
            JUnitCase(
                model,
                change.label,
                failure=f"new failure: {before} -> {change.after}"
                + (f": {change.error}" if change.error else ""),
                failure_type="new failure",
                details=change.error or change.after,
            )
        )
    return junit_xml(f"replicate_batch compare {c.run_a.run_id} -> {c.run_b.run_id}", cases)


def write_junit(text: str, target: Path) -> Path:
    """Write a JUnit document (its folder made if needed); returns its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
