"""Runs loaded back into pandas: the one module that imports pandas (it loads only when first used)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..csv_cells import csv_reader
from ..runfolder.results import METRIC_PREFIX, NOTE_PREFIX, RESULTS_NAME, SCORE_PREFIX

NUMBER_PREFIXES = (SCORE_PREFIX, METRIC_PREFIX)
TEXT_PREFIXES = (NOTE_PREFIX,)


def load_results(path: str | Path) -> pd.DataFrame:
    """Load a run folder's `results.csv`, or every run below a folder stacked, with typed columns."""
    path = Path(path)
    if (path / RESULTS_NAME).is_file():
        files = [path / RESULTS_NAME]
    elif path.is_file() and path.name == RESULTS_NAME:
        files = [path]
    else:
        files = sorted(path.glob(f"**/{RESULTS_NAME}"))
    if not files:
        raise FileNotFoundError(f"no results.csv in {path} or below it")
    frames = [_read(f) for f in files]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df["files"] = df["files"].map(lambda cell: json.loads(cell) if cell else [])
    for column in ("created_at", "completed_at"):
        df[column] = pd.to_datetime(df[column], utc=True, errors="coerce", format="ISO8601")
    for column in ("predict_time", "wall_time", *(c for c in df.columns if c.startswith(METRIC_PREFIX))):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    df["status"] = df["status"].astype("category")
    for column in df.columns:  # scores and metrics are numbers (NaN where empty): `.mean()` just works
        if column.startswith(NUMBER_PREFIXES):
            df[column] = pd.to_numeric(df[column], errors="coerce")
    return df


def _read(path: Path) -> pd.DataFrame:
    """One results.csv: text columns as text (a note or row id that looks like a number stays text)."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv_reader(handle), [])
    text = {"row_id", "job_id", "output", "error", "version"}
    text.update(c for c in header if c.startswith(TEXT_PREFIXES))
    return pd.read_csv(
        path,
        dtype={column: str for column in text} | {c: str for c in header if c.startswith(NUMBER_PREFIXES)},
        keep_default_na=False,
        na_values={"predict_time": [""], "wall_time": [""]},
    )
