"""Scoring: scorer entries checked at the edge, each job scored from its output, aggregates and gates.

How the runner is expected to call it (the seam; nothing here runs a prediction or writes a file):

1. Preflight: `parse_scorers(spec["scorers"], spec_dir=..., model_names=..., row_fields=rows.value_names
   + rows.metadata_names, source=spec file)` returns `(scorers, problems)`: the scorers in spec order, or
   none and every problem. Add the problems to the other preflight problems (exit 2 when any). It loads
   each python file once: keep the scorers for the run. `JudgeEntry.judge` is the judge's model entry as
   written (a ref string or a mapping): check and resolve it like a model entry.
2. Per succeeded job, per scorer in spec order, as the job finishes:
   - a `Scorer` (every kind but judge): `score_job(scorer, output_text=..., output_value=..., row=
     row_fields(job.row), input=job.input, files=[Path, ...], model=job.model)` -> `Score` (cells
     `score.<name>` = `value`, `note.<name>` = `note`), or None when the scorer does not apply to the model
     (both cells empty). `output_value` is the parsed value when the output was JSON, else the text, the
     same in a run and in rescore. It never raises (a python scorer's error becomes the note).
   - a `Judge` (needs a prediction): when `applies_to(judge, model)`, `render_judge_input(judge, ...)` gives
     the judge's `ask:` fields (strings rendered; convert them to the judge's input schema like CSV values
     and merge the judge entry's `input:` defaults), or an unscored Score (a missing value: no prediction).
     `judge_cache_key(judge, sent_input)` names that prediction: reuse a succeeded judge prediction with the
     same key (journal, resume, rescore), never a failed one. Its reply (the text its `output` column would
     show, or its JSON value) gives the score and the note by `read_reply(judge, reply)`; a judge
     prediction that failed -> `unscored(reason)`. Changing only `choices`/`regex`/`field` keeps the key.
   A job that did not succeed gets empty cells and is still fed to the aggregate as None.
3. Aggregates: one `ScoreAccumulators([(is_binary(scorer), scorer.entry.threshold), ...], repeat=spec.repeat,
   rows=shared RowIndex)` per model, for the scorers that apply to it (the jobs per row counted once for
   all); `add(row_id, [value or None per scorer])` for every job of the model (failed ones too);
   `results()` -> an `Aggregate` per scorer (manifest `scores`: mean, ci_low, ci_high, n, rows, scored,
   threshold, passed). `ScoreAccumulator` is the same for one scorer. Exit 3 when all jobs succeeded and
   some `passed` is False.

How the runner does call it: `check_scoring` (checks.py) in the preflight, for `scorers:` and
`group_by:` together; `RunScoring` (run_scoring.py) for the run: its `JobScoring` scores each result
in the worker thread that ran the job (and the results kept by `--resume`, and every result in
`rescore`), its `ScoreBoard` is the run folder's tally (the aggregates of what results.csv holds),
and its `outcome()` gives the manifest's `scores` / `scores_by`, the gates not met and the summary.
Judges are scored by the step `JobScoring` is given (`execution.judging.Judging.step`): their
models are checked and started with the spec's (`judge_models.py`), their predictions made by the
same executor.
"""

from .board import ScoreBoard
from .checks import check_scoring
from .config import (
    CloseToEntry,
    ContainsEntry,
    EqualsEntry,
    JsonSchemaEntry,
    JudgeEntry,
    OneOfEntry,
    PythonEntry,
    RegexEntry,
    ScorerEntry,
    ScorerSpec,
)
from .facts import JobFacts, row_fields
from .job_scoring import JobScoring
from .judge import Judge, judge_cache_key, read_reply, render_judge_input
from .parse import parse_scorers
from .run_scoring import RunScoring, ScoringOutcome
from .score import Score, unscored
from .scorer import AnyScorer, Scorer, applies_to, is_binary, score_job
from .statistics import Aggregate, RowIndex, ScoreAccumulator, ScoreAccumulators, interval_method

__all__ = [
    "Aggregate",
    "AnyScorer",
    "CloseToEntry",
    "ContainsEntry",
    "EqualsEntry",
    "JobFacts",
    "JobScoring",
    "JsonSchemaEntry",
    "Judge",
    "JudgeEntry",
    "OneOfEntry",
    "PythonEntry",
    "RegexEntry",
    "RowIndex",
    "RunScoring",
    "Score",
    "ScoreAccumulator",
    "ScoreAccumulators",
    "ScoreBoard",
    "Scorer",
    "ScorerEntry",
    "ScorerSpec",
    "ScoringOutcome",
    "applies_to",
    "check_scoring",
    "interval_method",
    "is_binary",
    "judge_cache_key",
    "parse_scorers",
    "read_reply",
    "render_judge_input",
    "row_fields",
    "score_job",
    "unscored",
]
