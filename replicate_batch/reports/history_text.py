"""`history` as text: per spec its runs, then per scorer each model's mean and interval per run."""

from __future__ import annotations

from ..scoring.board import scored_text
from .history import HistoryRun, SpecHistory
from .run_scores import Group
from .score_text import aligned


def started_text(run: HistoryRun) -> str:
    """The run's start time to the second, `2026-01-31 02:00:00` (`–` when unknown)."""
    return run.started_at[:19].replace("T", " ") if run.started_at else "–"


def score_cell(run: HistoryRun, model: str, scorer: str, group: Group | None = None) -> str:
    """`0.75 [0.60, 0.86]`, then `(2 of 3 jobs scored)` where some job has no score (it counts 0), then
    `worse`/`better` on an overall score that changed significantly."""
    summary = run.summary(model, scorer, group)
    if summary is None:
        return "–"
    verdict = run.changes.get((model, scorer), "") if group is None else ""
    return f"{summary.text}{scored_text(summary.scored, summary.n)} {verdict}".rstrip()


def runs_rows(history: SpecHistory) -> list[list[str]]:
    """The runs table: header, then a row per run."""
    rows = [["run", "started", "status", "jobs", "failed"]]
    rows += [[r.run_id, started_text(r), r.status or "–", str(r.jobs), str(r.failed)] for r in history.runs]
    return rows


def history_text(histories: list[SpecHistory]) -> str:
    """What `history` prints."""
    lines: list[str] = []
    for history in histories:
        if lines:
            lines.append("")
        runs = len(history.runs)
        lines.append(f"{history.name}: {runs} run{'s' if runs != 1 else ''}, oldest first")
        lines += aligned(runs_rows(history), "  ")
        for scorer in history.scorers:
            models = history.models(scorer)
            lines.append(
                f"{scorer}: mean [95% interval]; worse/better: a significant change from the run before"
            )
            rows = [["run", *models]]
            rows += [[r.run_id, *(score_cell(r, m, scorer) for m in models)] for r in history.runs]
            lines += aligned(rows, "  ")
            for field in dict.fromkeys(f for f, _ in history.groups):
                values = [g for g in history.groups if g[0] == field]
                lines.append(f"{scorer} by {field}:")
                rows = [["run", field, *models]]
                for run in history.runs:
                    rows += [
                        [run.run_id, value, *(score_cell(run, m, scorer, (field, value)) for m in models)]
                        for _, value in values
                        if any(run.summary(m, scorer, (field, value)) for m in models)
                    ]
                lines += aligned(rows, "  ")
        if not history.scorers:
            lines.append("no scores: the runs' specs have no scorers")
    return "\n".join(lines)
