"""`history DIR`: every run of a spec below a folder, oldest first, with each model's scores per run.

A folder holding a `results.csv` is a run folder (and is not searched further). Runs are grouped by
the spec name their manifest gives and ordered by start time. Each run's means and intervals are its
manifest's `scores` (and `scores_by` per group value). A run's change from the previous run of the
same spec is marked where `compare` would call it significant: the same paired test over the jobs
both runs have (unscored counting 0), Holm-adjusted across the (model, scorer) pairs of that step.
Only two runs' job scores are held at a time, so a year of nightly runs reads in a few seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NoRunsFound, NotARunFolder
from ..runfolder.results import RESULTS_NAME
from ..scoring.statistics.paired import holm_adjust, paired_p
from .records import RunRecords, load_run, natural_key, read_results
from .run_scores import (
    Group,
    JobScores,
    ModelScores,
    Pair,
    ScoreSummary,
    manifest_scores,
    manifest_scores_by,
    read_job_scores,
)
from .score_changes import ALPHA, Verdict, paired_scores

HISTORY_NAME = "history.html"


@dataclass(frozen=True)
class HistoryRun:
    """One run of the spec: what it is, its scores, and its significant changes from the run before."""

    path: Path
    run_id: str
    started_at: str
    status: str
    jobs: int
    failed: int  # failed or canceled
    model_names: Sequence[str]  # in spec order
    scorer_names: Sequence[str]  # in column order
    scores: ModelScores
    scores_by: Mapping[Group, ModelScores]
    changes: Mapping[Pair, Verdict] = field(default_factory=dict)  # only significant ones

    def summary(self, model: str, scorer: str, group: Group | None = None) -> ScoreSummary | None:
        """The run's aggregate for (model, scorer), overall or in one group; None when not scored."""
        scores = self.scores if group is None else self.scores_by.get(group, {})
        return scores.get(model, {}).get(scorer)

    @property
    def label(self) -> str:
        """The run as a chart names it: its start time to the minute (`2026-01-31 02:00`), else its id."""
        return self.started_at[:16].replace("T", " ") if self.started_at else self.run_id


@dataclass(frozen=True)
class SpecHistory:
    """Every run of one spec found, oldest first."""

    name: str
    runs: Sequence[HistoryRun]

    def models(self, scorer: str) -> list[str]:
        """The models `scorer` scored in some run: in spec order (the runs' manifests), first seen first."""
        names = [m for run in self.runs for m in (*run.model_names, *run.scores)]
        return [m for m in dict.fromkeys(names) if any(scorer in run.scores.get(m, {}) for run in self.runs)]

    @property
    def scorers(self) -> list[str]:
        """Every scorer of some run, in column order (`score.<name>`), first seen first."""
        names = [
            s for run in self.runs for s in (*run.scorer_names, *(s for v in run.scores.values() for s in v))
        ]
        return [
            s for s in dict.fromkeys(names) if any(s in v for run in self.runs for v in run.scores.values())
        ]

    @property
    def groups(self) -> list[Group]:
        """Every (field, value) of some run's `scores_by`: fields as first seen, values in natural order."""
        found = list(dict.fromkeys(g for run in self.runs for g in run.scores_by))
        fields = list(dict.fromkeys(f for f, _ in found))
        return sorted(found, key=lambda g: (fields.index(g[0]), natural_key(g[1])))


def find_run_folders(root: Path) -> list[Path]:
    """Every run folder at or below `root` (not below another run folder), in path order."""
    found = []
    for folder, dirs, files in os.walk(root):
        if RESULTS_NAME in files:
            found.append(Path(folder))
            dirs.clear()  # its files/ may hold thousands of folders, and no run
        dirs.sort()
    return found


def spec_name(run: RunRecords) -> str:
    """The spec's name a run was made from: the manifest's, else spec.yaml's, else the folder's."""
    return run.manifest.name or str(run.spec.get("name") or "") or run.path.name


def load_history(root: str | Path, name: str | None = None) -> list[SpecHistory]:
    """The runs below `root`, one history per spec name (only `name`'s if given), names in order.

    Raises NoRunsFound when there is no run folder (or none of `name`) below `root`.
    """
    root = Path(root)
    if not root.is_dir():
        raise NoRunsFound(f"{root} is not a folder")
    by_name: dict[str, list[RunRecords]] = {}
    for path in find_run_folders(root):
        try:
            run = load_run(path, with_results=False)
        except (NotARunFolder, OSError):
            continue  # a folder that only looks like a run (a results.csv of something else)
        by_name.setdefault(spec_name(run), []).append(run)
    if not by_name:
        raise NoRunsFound(f"no run folders below {root}")
    if name is not None and name not in by_name:
        raise NoRunsFound(
            f"no runs of the spec {name!r} below {root}; specs found: {', '.join(sorted(by_name))}"
        )
    names = [name] if name is not None else sorted(by_name)
    return [SpecHistory(n, list(_history_runs(by_name[n]))) for n in names]


def _history_runs(runs: list[RunRecords]) -> Iterator[HistoryRun]:
    """The runs oldest first, each with its significant changes from the one before."""
    runs.sort(key=lambda r: (r.manifest.started_at or "", r.run_id))
    previous: JobScores | None = None
    for run in runs:
        scores = manifest_scores(run.manifest)
        current = read_job_scores(read_results(run.path), run.scorer_names, scores)
        yield HistoryRun(
            path=run.path,
            run_id=run.run_id,
            started_at=run.manifest.started_at or "",
            status=run.manifest.status,
            jobs=run.manifest.jobs or sum(run.manifest.counts.values()),
            failed=run.manifest.counts.get("failed", 0) + run.manifest.counts.get("canceled", 0),
            model_names=run.model_names,
            scorer_names=run.scorer_names,
            scores=scores or {},
            scores_by=manifest_scores_by(run.manifest),
            changes=step_changes(previous, current) if previous is not None else {},
        )
        previous = current


def step_changes(before: JobScores, after: JobScores) -> dict[Pair, Verdict]:
    """The (model, scorer) pairs `compare before after` would call significantly worse or better."""
    tested: list[tuple[Pair, float, float]] = []  # pair, p, mean difference
    for pair in before.pairs.keys() & after.pairs.keys():
        jobs_a, jobs_b = before.jobs(pair), after.jobs(pair)
        a, b = paired_scores(jobs_a, jobs_b, jobs_a.keys() & jobs_b.keys())
        if a:
            tested.append((pair, paired_p(a, b)[0], math.fsum(y - x for x, y in zip(a, b))))
    adjusted = holm_adjust([p for _, p, _ in tested])
    return {
        pair: "worse" if diff < 0 else "better"
        for (pair, _, diff), p in zip(tested, adjusted)
        if p < ALPHA and diff != 0
    }
