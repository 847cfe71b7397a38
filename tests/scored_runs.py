"""Real runs with scores, for the compare, history and JUnit tests.

STAND-IN until runs score themselves (issue 13, branch i13-wire): `run_scored` runs the spec without
its `scorers:` and `group_by:` (the runner does not take them yet) on the in-process double backend,
then scores the finished run folder the way a run will write it, with the real scoring code
(`parse_scorers`, `score_job`, `ScoreAccumulator`): `score.<name>` and `note.<name>` columns after the
contract columns, `scores` (and `scores_by`) in the manifest, `scorers:`/`group_by:` in spec.yaml.
Once that branch is merged, `run_scored` becomes a plain run of the spec and `score_run_folder` goes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from replicate_batch import run_batch
from replicate_batch.clock import Clock
from replicate_batch.runfolder.manifest import read_manifest, write_manifest
from replicate_batch.runfolder.results import COLUMNS, RESULTS_NAME
from replicate_batch.scoring import (
    RowIndex,
    ScoreAccumulator,
    Scorer,
    applies_to,
    is_binary,
    parse_scorers,
    score_job,
)
from tests.doubles import instant_backends


def run_scored(spec: Mapping[str, Any], spec_dir: Path, output_dir: Path, *, double: bool = True) -> Path:
    """Run `spec` (written to `spec_dir/<name>.yaml`), score it; the run folder.

    The models run on the in-process double (`echo: <prompt>`), or with `double` False on the runner's
    own backends (inside `tests.emulated.emulated()`: the Replicate emulator).
    """
    plain = {k: v for k, v in spec.items() if k not in ("scorers", "group_by")}
    spec_path = spec_dir / f"{spec.get('name', 'spec')}.yaml"
    spec_path.write_text(yaml.safe_dump(plain), encoding="utf-8")
    summary = run_batch(
        spec_path,
        output_dir=output_dir,
        backends=instant_backends() if double else None,
        clock=Clock(time_scale=0.01),
        stderr=io.StringIO(),
    )
    assert summary.run_dir is not None
    score_run_folder(summary.run_dir, spec.get("scorers") or [], spec.get("group_by") or [], spec_dir)
    return summary.run_dir


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def score_run_folder(run_dir: Path, raw: Sequence[Any], group_by: Sequence[str], spec_dir: Path) -> None:
    """Add score columns, the manifest's `scores`/`scores_by` and spec.yaml's `scorers:` to a run folder."""
    manifest = read_manifest(run_dir)
    assert manifest is not None
    with open(run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, records = rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]
    extra = header[len(COLUMNS) :]
    fields = [c.removeprefix("input.") for c in extra] + ["id"]
    scorers, problems = parse_scorers(
        list(raw), spec_dir=spec_dir, model_names=manifest.model_names, row_fields=fields
    )
    assert not problems, problems
    spec = yaml.safe_load((run_dir / "spec.yaml").read_text(encoding="utf-8"))
    repeat = int(spec.get("repeat", 1))
    index = RowIndex()
    overall: dict[tuple[str, str], ScoreAccumulator] = {}
    by_group: dict[tuple[str, str, str, str], ScoreAccumulator] = {}

    def accumulator(table: dict[Any, ScoreAccumulator], key: Any, scorer: Scorer) -> ScoreAccumulator:
        if key not in table:
            table[key] = ScoreAccumulator(
                binary=is_binary(scorer), repeat=repeat, threshold=scorer.entry.threshold, rows=index
            )
        return table[key]

    new_header = [*COLUMNS]
    for scorer in scorers:
        new_header += [f"score.{scorer.name}", f"note.{scorer.name}"]
    new_header += extra
    out = []
    for record in records:
        row = {"id": record["row_id"]}
        row.update({c.removeprefix("input."): v for c, v in record.items() if c in extra})
        inputs = {c.removeprefix("input."): v for c, v in record.items() if c.startswith("input.") and v}
        cells = dict(record)
        for scorer in scorers:
            assert isinstance(scorer, Scorer)
            score = None
            if record["status"] == "succeeded":
                output = record["output"]
                value: Any = output
                if output[:1] in ("{", "["):
                    with contextlib.suppress(ValueError):
                        value = json.loads(output)
                files = [run_dir / f for f in json.loads(record["files"] or "[]")]
                score = score_job(
                    scorer,
                    output_text=output,
                    output_value=value,
                    row=row,
                    input=inputs,
                    files=files,
                    model=record["model"],
                )
            cells[f"score.{scorer.name}"] = _cell(score.value) if score else ""
            cells[f"note.{scorer.name}"] = score.note if score else ""
            if applies_to(scorer, record["model"]):
                value_or_none = score.value if score else None
                row_key = record["row_id"]
                accumulator(overall, (record["model"], scorer.name), scorer).add(row_key, value_or_none)
                for name in group_by:
                    key = (name, record.get(name, ""), record["model"], scorer.name)
                    accumulator(by_group, key, scorer).add(row_key, value_or_none)
        out.append([cells[c] for c in new_header])
    with open(run_dir / RESULTS_NAME, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(new_header)
        writer.writerows(out)
    scores: dict[str, dict[str, Any]] = {}
    for (model, name), acc in overall.items():
        scores.setdefault(model, {})[name] = asdict(acc.result())
    manifest.extra["scores"] = scores
    if group_by:
        scores_by: dict[str, Any] = {}
        for (field, value, model, name), acc in by_group.items():
            scores_by.setdefault(field, {}).setdefault(value, {}).setdefault(model, {})[name] = asdict(
                acc.result()
            )
        manifest.extra["scores_by"] = scores_by
    write_manifest(run_dir, manifest)
    spec["scorers"] = list(raw)
    if group_by:
        spec["group_by"] = list(group_by)
    (run_dir / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
