"""Scorers built the way a run builds them (through parse_scorers), and jobs scored through score_job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from replicate_batch.scoring import Judge, Score, Scorer, parse_scorers, score_job

MODELS = ("caption", "words", "pattern")
ROW_FIELDS = ("prompt", "max_words", "_expected", "_label", "_number")


def build(entry: Mapping[str, Any], spec_dir: Path | None = None) -> Scorer:
    """One scorer from a `scorers:` item, failing the test on any problem."""
    scorers, problems = parse_scorers(
        [dict(entry)], spec_dir=spec_dir or Path.cwd(), model_names=MODELS, row_fields=ROW_FIELDS
    )
    assert not problems, [str(p) for p in problems]
    (scorer,) = scorers
    assert isinstance(scorer, Scorer)
    return scorer


def build_judge(entry: Mapping[str, Any]) -> Judge:
    """One judge from a `scorers:` item, failing the test on any problem."""
    scorers, problems = parse_scorers(
        [dict(entry)], spec_dir=Path.cwd(), model_names=MODELS, row_fields=ROW_FIELDS
    )
    assert not problems, [str(p) for p in problems]
    (judge,) = scorers
    assert isinstance(judge, Judge)
    return judge


def score(
    scorer: Scorer,
    output: Any,
    *,
    row: Mapping[str, Any] | None = None,
    input: Mapping[str, Any] | None = None,
    files: Sequence[Path] = (),
    model: str = "caption",
) -> Score | None:
    """Score a job whose output is `output`: text as is, other values as their JSON text and value."""
    text = output if isinstance(output, str) else json_text(output)
    return score_job(
        scorer,
        output_text=text,
        output_value=output,
        row=row if row is not None else {"id": "1"},
        input=input or {},
        files=files,
        model=model,
    )


def json_text(value: Any) -> str:
    """The `output` column of a JSON value."""
    import json

    return json.dumps(value, ensure_ascii=False)
