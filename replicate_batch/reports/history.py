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
from ..runfolder.manifest import Manifest, read_manifest
from ..runfolder.results import RESULTS_NAME
from ..scoring.statistics.paired import all_zero_one, holm_adjust, paired_p
from .records import SCORE_PREFIX, natural_key, read_spec, results_header
from .run_scores import (
    Group,
    JobScores,
    ModelScores,
    Pair,
    ScoreSummary,
    manifest_scores,
    manifest_scores_by,
    scan_job_scores,
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


@dataclass(frozen=True)
class _Found:
    """A run folder found: its manifest and `score.<name>` columns (its results are read later)."""

    path: Path
    manifest: Manifest
    scorer_names: list[str]

    @property
    def run_id(self) -> str:
        return self.manifest.run_id or self.path.name

    @property
    def spec_name(self) -> str:
        """The spec's name: the manifest's, else spec.yaml's (read only then), else the folder's."""
        return self.manifest.name or str(read_spec(self.path).get("name") or "") or self.path.name


def _found(path: Path) -> _Found | None:
    try:
        header = results_header(path)
    except (NotARunFolder, OSError):
        return None  # a folder that only looks like a run (a results.csv of something else)
    names = [c.removeprefix(SCORE_PREFIX) for c in header if c.startswith(SCORE_PREFIX)]
    return _Found(path, read_manifest(path) or Manifest(), names)


def load_history(root: str | Path, name: str | None = None) -> list[SpecHistory]:
    """The runs below `root`, one history per spec name (only `name`'s if given), names in order.

    Raises NoRunsFound when there is no run folder (or none of `name`) below `root`.
    """
    root = Path(root)
    if not root.is_dir():
        raise NoRunsFound(f"{root} is not a folder")
    by_name: dict[str, list[_Found]] = {}
    for path in find_run_folders(root):
        found = _found(path)
        if found is not None:
            by_name.setdefault(found.spec_name, []).append(found)
    if not by_name:
        raise NoRunsFound(f"no run folders below {root}")
    if name is not None and name not in by_name:
        specs = ", ".join(sorted(by_name))
        raise NoRunsFound(f"no runs of the spec {name!r} below {root}; specs found: {specs}")
    names = [name] if name is not None else sorted(by_name)
    return [SpecHistory(n, list(_history_runs(by_name[n]))) for n in names]


def _history_runs(runs: list[_Found]) -> Iterator[HistoryRun]:
    """The runs oldest first, each with its significant changes from the one before."""
    runs.sort(key=lambda r: (r.manifest.started_at or "", r.run_id))
    previous: JobScores | None = None
    for run in runs:
        manifest = run.manifest
        scores = manifest_scores(manifest)
        current = scan_job_scores(run.path, scores)
        yield HistoryRun(
            path=run.path,
            run_id=run.run_id,
            started_at=manifest.started_at or "",
            status=manifest.status,
            jobs=manifest.jobs or sum(manifest.counts.values()),
            failed=manifest.counts.get("failed", 0) + manifest.counts.get("canceled", 0),
            model_names=manifest.model_names,
            scorer_names=run.scorer_names,
            scores=scores or {},
            scores_by=manifest_scores_by(manifest),
            changes=step_changes(previous, current) if previous is not None else {},
        )
        previous = current


def step_changes(before: JobScores, after: JobScores) -> dict[Pair, Verdict]:
    """The (model, scorer) pairs `compare before after` would call significantly worse or better."""
    tested: list[tuple[Pair, float, float]] = []  # pair, p, mean difference
    for pair in before.pairs.keys() & after.pairs.keys():
        jobs_a, jobs_b = before.jobs(pair), after.jobs(pair)
        common = jobs_a.keys() & jobs_b.keys()
        if not common:
            continue
        a, b, _ = paired_scores(jobs_a, jobs_b, sorted(common), after.rows)  # per row where rows repeat
        # a p surely above SCREEN_P is never significant, and Holm adjusts the smaller p-values from
        # those smaller ones and the number of pairs alone: 1.0 stands in for it
        p = 1.0 if surely_unchanged(a, b) else paired_p(a, b)[0]
        diff = math.fsum((jobs_b[j] or 0.0) - (jobs_a[j] or 0.0) for j in common)
        tested.append((pair, p, diff))
    adjusted = holm_adjust([p for _, p, _ in tested])
    return {
        pair: "worse" if diff < 0 else "better"
        for (pair, _, diff), p in zip(tested, adjusted)
        if p < ALPHA and diff != 0
    }


SCREEN_PAIRS = 100  # the screen needs at least this many pairs that differ
SCREEN_SHARE = 0.01  # ... none of them more than this share of the differences' sum of squares
SCREEN_P = 0.1


def surely_unchanged(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether the permutation test `compare` runs on these numbers would surely find p > 0.05.

    History tests every step of every (model, scorer); most show no change, and 10,000 sign flips
    each would make a year of runs take a minute. The sign-flip sum of many differences none of which
    dominates is close to normal: its standardized fourth cumulant is at most 2 x SCREEN_SHARE, and
    its steps are at most twice the largest difference, by which the observed sum is widened here
    (so a sum that falls between two steps cannot look less extreme than it is). A normal p above
    SCREEN_P is then a true p well above 0.05, and 10,000 flips sample it to within 0.003 (one
    standard error). 0/1 scores get McNemar's test, which is cheap, and are never screened.
    """
    diffs = [y - x for x, y in zip(a, b) if y != x]
    if len(diffs) < SCREEN_PAIRS or all_zero_one(a, b):
        return False
    squares = math.fsum(d * d for d in diffs)
    largest = max(abs(d) for d in diffs)
    if largest * largest > SCREEN_SHARE * squares:
        return False
    z = (abs(math.fsum(diffs)) + 2 * largest) / math.sqrt(squares)
    return math.erfc(z / math.sqrt(2)) > SCREEN_P
