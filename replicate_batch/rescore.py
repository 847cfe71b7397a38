"""`rescore`: a finished run's scores computed again, with its scorers or another spec's; nothing created.

The run folder is locked as `--resume` locks it. The rows are read again through the run's own
`spec.yaml` (so templates and python scorers see them with the same types as the run did); each
job's result (its output, whether that was JSON, what was sent, its files) comes from the last
`finished` line of `journal.jsonl`, found through an index of line offsets, so that only one
result is held at a time (rescore_results.py). `results.csv` is streamed into `results.csv.part` in
its own order, every cell but the score and note cells copied as it was, and moved into place at the
end: a crash leaves the old file whole. No backend is started and no prediction created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .backends.factory import BackendFactory, make_backends
from .clock import SYSTEM_CLOCK, Clock, utc_now_iso
from .csv_cells import csv_reader
from .errors import NotARunFolder, Problem, SpecError
from .execution.progress import judge_table
from .reports.page import try_write_report
from .reports.stats import StatsTally
from .rescore_judges import RescoreJudges, scorers_spec
from .rescore_results import Rescoring
from .rows.rowset import Row, load_rows
from .runfolder.journal import JOURNAL_NAME
from .runfolder.manifest import Manifest, read_manifest, write_manifest
from .runfolder.results import COLUMNS, RESULTS_NAME, ResultColumns
from .runfolder.writer import RunFolder
from .runner import RunSummary, exit_status
from .scoring.checks import check_scoring
from .scoring.facts import row_fields
from .scoring.judge import Judge
from .scoring.run_scoring import RunScoring
from .spec.loading import LoadedSpec, load_spec, parse_spec
from .spec.strict_yaml import load_yaml, yaml_error_place

SPEC_NAME = "spec.yaml"


def rescore_run(
    run_dir: str | Path,
    spec: str | Path | None = None,
    *,
    clock: Clock | None = None,
    backends: BackendFactory | None = None,
) -> RunSummary:
    """Score a finished run again and rewrite its score columns, manifest `scores` and report.html.

    The scorers (and `group_by`) are those of the run's `spec.yaml`, their paths relative to the
    original spec's folder, or those of `spec` (only `scorers:` and `group_by:` are taken from it; its
    paths relative to it). Judges reuse the replies the journal holds; only inputs without one are
    sent to a judge (`rescore_judges.py`; `backends` and `clock` as for `run_batch`). Returns the
    summary a run would (exit code 0, 1 or 3). Raises SpecError (a scorer, the rows or the spec is
    invalid; nothing was changed), NotARunFolder or RunFolderBusy.
    """
    run_dir = Path(run_dir)
    manifest = _manifest(run_dir)
    loaded = _run_spec(run_dir, manifest)
    held: dict[str, Mapping[str, Any]] = {}  # what scorers see of each row, kept as the rows are checked

    def keep(row: Row) -> None:
        held[row.id] = row_fields(row)

    try:
        rows = load_rows(loaded, keep)
    except SpecError as error:
        hint = Problem(
            loaded.source,
            "inputs",
            f"rescore reads the run's rows again (paths relative to {loaded.base_dir}): "
            "put the rows file back where the run read it",
        )
        raise SpecError([*error.problems, hint]) from None
    raw, group_by, source, spec_dir = _scoring_source(loaded, spec)
    scorers, problems = check_scoring(
        raw,
        group_by,
        spec_dir=spec_dir,
        model_names=loaded.model_names,
        value_names=rows.value_names,
        metadata_names=rows.metadata_names,
        source=source,
    )
    if problems:
        raise SpecError(problems)

    old = ResultColumns.from_header(_header(run_dir))
    columns = replace(old, scores=tuple(scorer.name for scorer in scorers))
    models = list(loaded.model_names)
    stats = StatsTally(models)
    folder = RunFolder.reopen(run_dir, columns)
    judges: RescoreJudges | None = None
    try:
        if any(isinstance(scorer, Judge) for scorer in scorers):
            judges = RescoreJudges(
                folder,
                scorers_spec(loaded, spec_dir, source),
                [scorer for scorer in scorers if isinstance(scorer, Judge)],
                clock=clock or SYSTEM_CLOCK,
                backends=backends or make_backends,
            )
        scoring = RunScoring(
            scorers,
            run_dir,
            models=models,
            repeat=loaded.spec.repeat,
            group_by=group_by,
            judge=judges.judging.step if judges is not None else None,
        )
        rescoring = Rescoring(run_dir, scoring, held, stats)
        if judges is not None:
            judges.judge_ahead(scoring, rescoring.results(old))
            judges.write_into(manifest)
        folder.rewrite_rows(columns.header(), rescoring.rows(old, columns), new=columns.score_span)
        outcome = scoring.outcome()
        scoring.write_into(manifest, outcome)
        manifest.rescored_at.append(utc_now_iso())
        manifest.counts = folder.counts
        write_manifest(run_dir, manifest)  # the run's package versions stay as they were
        folder.open_journal()
        folder.journal(
            "rescored", spec=str(spec) if spec is not None else SPEC_NAME, scorers=list(columns.scores)
        )
    finally:
        if judges is not None:
            judges.close()
        folder.close()
    warnings = rescoring.warnings()
    del rescoring  # the rows and the journal's index: their memory is the report's to use
    held.clear()
    scoring.board.reset()
    _, warning = try_write_report(run_dir)
    counts = folder.counts
    table = scoring.summary(stats.stats(every_model=True), outcome)
    judged = judges.stats if judges is not None else []
    return RunSummary(
        run_dir,
        sum(counts.values()),
        counts,
        exit_status(counts, outcome.gate_failures),
        f"{table}\n\n{judge_table(judged)}" if judged else table,
        warnings=[*warnings, *([warning] if warning else [])],
        scores=outcome.scores,
        scores_by=outcome.scores_by,
        gate_failures=outcome.gate_failures,
        judges=judged,
    )


def _manifest(run_dir: Path) -> Manifest:
    for name in (RESULTS_NAME, JOURNAL_NAME, SPEC_NAME):
        if not (run_dir / name).is_file():
            raise NotARunFolder(f"{run_dir} is not a run folder: it has no {name}")
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise NotARunFolder(f"{run_dir} is not a run folder: it has no readable manifest.json")
    return manifest


def _run_spec(run_dir: Path, manifest: Manifest) -> LoadedSpec:
    """The run's `spec.yaml`, its relative paths pointing from the original spec's folder."""
    path = run_dir / SPEC_NAME
    if manifest.spec_dir:
        base = Path(manifest.spec_dir)
    elif manifest.spec:
        base = Path(manifest.spec).expanduser().resolve().parent
    else:
        base = Path.cwd()
    return parse_spec(_yaml(path), path=path, base_dir=base)


def _yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError.single(str(path), "", f"cannot read it: {error}") from None
    except yaml.YAMLError as error:
        place, message = yaml_error_place(error)
        raise SpecError.single(str(path), place, f"invalid YAML: {message}") from None


def _scoring_source(loaded: LoadedSpec, spec: str | Path | None) -> tuple[Any, list[str], str, Path]:
    """(scorers, group_by, the file named in messages, where python files are found).

    A whole spec given as SPEC is checked as a spec (unknown keys are errors); a file of only
    `scorers:` and `group_by:` is taken as it is. Without `group_by:`, SPEC keeps the run's.
    """
    if spec is None:
        return loaded.spec.scorers, list(loaded.spec.group_by), loaded.source, loaded.base_dir
    path = Path(spec)
    data = _yaml(path)
    kept = list(loaded.spec.group_by)  # a SPEC without `group_by:` keeps the run's
    if isinstance(data, Mapping) and set(data) <= {"scorers", "group_by"}:
        group_by = data.get("group_by", kept)
        if not isinstance(group_by, list) or not all(isinstance(name, str) for name in group_by):
            raise SpecError.single(str(path), "group_by", "expected a list of row metadata fields")
        return data.get("scorers"), group_by, str(path), path.parent.resolve()
    other = load_spec(path)  # a whole spec: checked whole, then only its scoring is taken
    group_by = list(other.spec.group_by) if "group_by" in data else kept
    return other.spec.scorers, group_by, other.source, other.base_dir


def _header(run_dir: Path) -> list[str]:
    with open(run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle:
        header = next(csv_reader(handle), [])
    if list(header[: len(COLUMNS)]) != list(COLUMNS):
        raise NotARunFolder(f"{run_dir / RESULTS_NAME} does not start with the results columns")
    return header
