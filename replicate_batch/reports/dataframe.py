"""Runs loaded back into pandas: the one module that imports pandas (it loads only when first used)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..runfolder.results import METRIC_PREFIX, RESULTS_NAME


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
    frames = [
        pd.read_csv(
            f,
            dtype={"row_id": str, "job_id": str, "output": str, "error": str, "version": str},
            keep_default_na=False,
            na_values={"predict_time": [""], "wall_time": [""]},
        )
        for f in files
    ]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df["files"] = df["files"].map(lambda cell: json.loads(cell) if cell else [])
    for column in ("created_at", "completed_at"):
        df[column] = pd.to_datetime(df[column], utc=True, errors="coerce", format="ISO8601")
    for column in ("predict_time", "wall_time", *(c for c in df.columns if c.startswith(METRIC_PREFIX))):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    df["status"] = df["status"].astype("category")
    return df
