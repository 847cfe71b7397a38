"""`rescore`: a finished run's scores computed again, with its scorers or another spec's; nothing created.

The run folder is locked as `--resume` locks it. The rows are read again through the run's own
`spec.yaml` (so templates and python scorers see them with the same types as the run did); each
job's result (its output, whether that was JSON, what was sent, its files) comes from the last
`finished` line of `journal.jsonl`, found through an index of line offsets, so that only one
result is held at a time. `results.csv` is streamed into `results.csv.part` in its own order, every
cell but the score and note cells copied as it was, and moved into place at the end: a crash leaves
the old file whole. No backend is started and no prediction created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, cast

import yaml

from .backends.factory import BackendFactory, make_backends
from .clock import SYSTEM_CLOCK, Clock, utc_now_iso
from .csv_cells import csv_reader
from .errors import NotARunFolder, Problem, SpecError
from .execution.progress import judge_table
from .reports.page import try_write_report
from .reports.stats import StatsTally, seconds
from .rescore_judges import RescoreJudges, scorers_spec
from .rows.rowset import load_rows
from .runfolder.journal import JOURNAL_NAME
from .runfolder.manifest import Manifest, read_manifest, write_manifest
from .runfolder.results import COLUMNS, RESULTS_NAME, FinalStatus, JobResult, ResultColumns
from .runfolder.writer import RunFolder
from .runner import RunSummary, exit_status
from .scoring.checks import check_scoring
from .scoring.facts import row_fields
from .scoring.judge import Judge
from .scoring.run_scoring import RunScoring
from .spec.loading import LoadedSpec, load_spec, parse_spec
from .spec.strict_yaml import load_yaml, yaml_error_place

SPEC_NAME = "spec.yaml"
# How the run folder's writer begins a `finished` line (json.dumps of event, time, job_id, result).
_FINISHED = re.compile(
    rb'\{"event": "finished", "time": "[^"\\]*", "job_id": "(?P<job_id>[0-9a-f]+)", "result": \{'
)
_AT = {name: index for index, name in enumerate(COLUMNS)}


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
    try:
        rows = load_rows(loaded, lambda row: held.setdefault(row.id, row_fields(row)))
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
        rescoring = _Rescoring(run_dir, scoring, held, stats)
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


class _Rescoring:
    """Streams results.csv's rows with new score cells, each job's result read from the journal."""

    def __init__(
        self, run_dir: Path, scoring: RunScoring, rows: Mapping[str, Mapping[str, Any]], stats: StatsTally
    ) -> None:
        self.run_dir = run_dir
        self.scoring = scoring
        self.held = rows
        self.stats = stats
        self.offsets = _finished_offsets(run_dir / JOURNAL_NAME)
        self.cut_short = 0  # rows of results.csv a crash cut short: dropped
        self.not_journaled = 0  # jobs scored from their results.csv row alone
        self.rowless = 0  # jobs whose row is no longer in the rows

    def rows(self, old: ResultColumns, new: ResultColumns) -> Iterator[list[Any]]:
        """results.csv's rows in order, the score and note cells those of the new scorers."""
        rest = old.score_span.stop
        for cells, result in self._read(old, count=True):
            scores = self.scoring.jobs.scores(result, self._row(result, count=True))
            self.scoring.board.add_scores(result.model, result.row_id, result.metadata, scores)
            self.stats.count(
                cells[_AT["model"]],
                cells[_AT["status"]],
                seconds(cells[_AT["wall_time"]]),
                seconds(cells[_AT["predict_time"]]),
            )
            yield [*cells[: len(COLUMNS)], *new.score_cells(scores), *cells[rest:]]

    def results(self, old: ResultColumns) -> Iterator[tuple[JobResult, Mapping[str, Any]]]:
        """Each job's result (as `rows` reads it) with its row's fields, for judging ahead."""
        for _, result in self._read(old, count=False):
            yield result, self._row(result, count=False)

    def _read(self, old: ResultColumns, *, count: bool) -> Iterator[tuple[list[str], JobResult]]:
        """results.csv's whole rows in order, each with its job's result: the journal's, else the row's.
        `count`: tally what the warnings report (once, on the pass that writes)."""
        width = len(old.header())
        with (
            open(self.run_dir / RESULTS_NAME, encoding="utf-8", newline="") as handle,
            open(self.run_dir / JOURNAL_NAME, "rb") as journal,
        ):
            reader = csv_reader(handle)
            next(reader, None)
            for cells in reader:
                if len(cells) != width:
                    self.cut_short += count
                    continue
                yield cells, self._result(cells, journal, count)

    def _result(self, cells: Sequence[str], journal: BinaryIO, count: bool) -> JobResult:
        offset = self.offsets.get(cells[_AT["job_id"]])
        if offset is not None:
            journal.seek(offset)
            try:
                data = json.loads(journal.readline())["result"]
                data.pop("scores", None)  # the scores it had are not read: they are given anew
                return JobResult.from_journal(data)
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        self.not_journaled += count
        return _from_cells(cells)

    def _row(self, result: JobResult, count: bool) -> Mapping[str, Any]:
        """The fields of the job's row as scorers see them; its id and metadata when the row is gone."""
        row = self.held.get(result.row_id)
        if row is None:
            self.rowless += count
            row = {"id": result.row_id, **result.metadata}
        return row

    def warnings(self) -> list[str]:
        """What the rescore could not do as a run would have."""
        found = []
        if self.cut_short:
            found.append(f"{self.cut_short} rows of {RESULTS_NAME} were cut short by a crash: dropped")
        if self.not_journaled:
            found.append(
                f"{self.not_journaled} results are not in {JOURNAL_NAME}: scored from their {RESULTS_NAME} "
                "row (output as text; inputs as the cells show them)"
            )
        if self.rowless:
            found.append(
                f"{self.rowless} results' rows are no longer among the spec's rows: scored with their id "
                "and metadata only"
            )
        return found


def _finished_offsets(path: Path) -> dict[str, int]:
    """Where each job's last `finished` line starts in the journal (a later one replaces an earlier).

    The writer's lines begin `{"event": "finished", "time": ..., "job_id": ...`: the job id is read
    there, without parsing the whole result; any other line naming `finished` is parsed.
    """
    offsets: dict[str, int] = {}
    offset = 0
    with open(path, "rb") as handle:
        for line in handle:
            if b'"finished"' in line:
                job_id = _job_id(line)
                if job_id is not None:
                    offsets[job_id] = offset
            offset += len(line)
    return offsets


def _job_id(line: bytes) -> str | None:
    """The job id of a complete `finished` line, else None (a line cut short by a crash, say)."""
    if not line.endswith(b"}\n") and not line.endswith(b"}"):
        return None
    found = _FINISHED.match(line)
    if found is not None:
        return found["job_id"].decode()
    try:
        event = json.loads(line)
    except ValueError:
        return None
    is_job = isinstance(event, dict) and "judge" not in event  # a judge's result is no job's
    if is_job and event.get("event") == "finished" and "result" in event:
        return str(event.get("job_id", ""))
    return None


def _from_cells(cells: Sequence[str]) -> JobResult:
    """A result from its results.csv row alone, for a job the journal does not have."""
    try:
        files = tuple(str(f) for f in json.loads(cells[_AT["files"]] or "[]"))
    except (ValueError, TypeError):
        files = ()
    status = cast(FinalStatus, cells[_AT["status"]])
    return JobResult(
        job_id=cells[_AT["job_id"]],
        model=cells[_AT["model"]],
        row_id=cells[_AT["row_id"]],
        repeat=int(cells[_AT["repeat"]] or 0) if cells[_AT["repeat"]].isdigit() else 0,
        status=status if status in ("succeeded", "failed", "canceled") else "failed",
        output=cells[_AT["output"]],
        files=files,
    )
