"""Downloads: 200 predictions with 4 output files of 5 MB each, runner against plain `requests`.

    .venv/bin/python benchmarks/downloads.py            # 200 predictions x 4 x 5 MB = 4,000 MB
    .venv/bin/python benchmarks/downloads.py --quick    # 50 predictions

The model finishes at once, so the run is almost all downloading. Sides, each a fresh process on
the same files (the runner's predictions' outputs) at the same concurrency:
  replicate_batch  the whole run: create, download (streamed, 256 KiB chunks), CSV
  requests         plain requests streaming each file to disk, one Session per thread
Files go to a temporary folder on the same disk and are deleted after each side.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import (
    TOKEN,
    ModelDef,
    PredictContext,
    TimedEmulator,
    child_figures,
    cpu_s,
    emit,
    load_line,
    machine_line,
    measured_run,
    prompt_rows,
    request_kinds,
    run_as_child,
    run_child,
    table,
)

FILES_PER_PREDICTION = 4
FILE_MB = 5
CHUNK_BYTES = 256 * 1024  # as replicate_batch.execution.download
# One blob shared by every output: the emulator keeps outputs in memory and bytes(blob) is blob.
BLOB = bytes(range(256)) * (FILE_MB * 2**20 // 256)


def files_model() -> ModelDef:
    """A model that returns four 5 MB files at once."""

    def predict(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
        return [ctx.file(BLOB, f"out-{i}.bin") for i in range(FILES_PER_PREDICTION)]

    return ModelDef(
        owner="bench",
        name="files",
        input_schema={
            "type": "object",
            "required": ["prompt"],
            "properties": {"prompt": {"type": "string", "title": "Prompt", "x-order": 0}},
        },
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=predict,
    )


def folder_bytes(folder: Path) -> int:
    """Bytes of every file below `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_replicate_batch(config: dict[str, Any]) -> None:
    """Child: the runner end to end."""
    spec = {
        "name": "downloads",
        "models": [config["ref"]],
        "concurrency": config["concurrency"],
        "rate_limit": 1e6,
        "inputs": prompt_rows(config["predictions"]),
    }
    figures = measured_run(
        spec, tmp_dir=config["tmp"], inspect=lambda run_dir: {"bytes": folder_bytes(run_dir / "files")}
    )
    emit(child_figures(**figures, ok=figures["counts"].get("succeeded", 0)))


def run_requests(config: dict[str, Any]) -> None:
    """Child: plain requests streaming, a pool of `concurrency` threads, one prediction's files per task."""
    import requests

    out_dir = Path(tempfile.mkdtemp(prefix="bench-requests-", dir=config["tmp"]))
    local = threading.local()

    def fetch_all(task: tuple[int, list[str]]) -> int:
        index, urls = task
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        folder = out_dir / str(index)
        folder.mkdir()
        written = 0
        for number, url in enumerate(urls):
            with session.get(url, stream=True, timeout=60) as response:
                response.raise_for_status()
                with open(folder / f"out-{number}.bin", "wb") as handle:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        handle.write(chunk)
                        written += len(chunk)
        return written

    started, cpu_started = time.time(), cpu_s()
    with ThreadPoolExecutor(max_workers=config["concurrency"]) as pool:
        sizes = list(pool.map(fetch_all, enumerate(config["urls"])))
    ended = time.time()
    shutil.rmtree(out_dir, ignore_errors=True)
    emit(
        child_figures(
            started=started,
            ended=ended,
            run_cpu_s=cpu_s() - cpu_started,
            bytes=sum(sizes),
            ok=len(sizes),
        )
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--predictions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds of both sides, alternating which goes first"
    )
    parser.add_argument("--quick", action="store_true", help="50 predictions")
    return parser.parse_args()


def main() -> None:
    if run_as_child({"replicate_batch": run_replicate_batch, "requests": run_requests}):
        return
    args = parse_args()
    predictions = 50 if args.quick else args.predictions
    total_mb = predictions * FILES_PER_PREDICTION * FILE_MB
    print(machine_line())
    print(
        f"downloads: {predictions} predictions x {FILES_PER_PREDICTION} files x {FILE_MB} MB = "
        f"{total_mb:,} MB per side, concurrency {args.concurrency}, real time"
    )
    emulator = TimedEmulator(token=TOKEN, time_scale=1.0)
    model = emulator.add_model(files_model())
    emulator.start()
    env = {"REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
    tmp = tempfile.mkdtemp(prefix="bench-downloads-")
    rows: list[list[Any]] = []
    config: dict[str, Any] = {
        "ref": model.ref,
        "predictions": predictions,
        "concurrency": args.concurrency,
        "tmp": tmp,
    }
    urls: list[list[str]] = []
    try:
        for round_number in range(1, args.rounds + 1):
            # The order alternates (runner first in odd rounds, so there are files to fetch), so neither
            # side always runs first (page cache, writeback).
            order = ["replicate_batch", "requests"] if round_number % 2 else ["requests", "replicate_batch"]
            round_rows = {}
            for side in order:
                mark = emulator.mark()
                if side == "requests":  # the files of the last runner run: both fetch the same bytes
                    figures = run_child(__file__, side, {**config, "urls": urls}, env)
                    round_rows[side] = _row(f"{side} [{round_number}]", figures, emulator.since(mark))
                else:
                    figures = run_child(__file__, side, config, env)
                    log = emulator.since(mark)
                    round_rows[side] = _row(f"{side} [{round_number}]", figures, log)
                    urls = _urls_of(emulator, log)
            mb_s, window_mb_s = round_rows["requests"][3], round_rows["requests"][4]
            for side in order:
                row = round_rows[side]
                row[5:5] = [row[4] / window_mb_s]
                row[4:4] = [row[3] / mb_s]
                rows.append(row)
    finally:
        emulator.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        table(
            [
                "side",
                "wall_s",
                "MB",
                "MB/s",
                "x_requests",
                "window_MB/s",
                "x_requests_window",
                "cpu_s",
                "peak_rss_mb",
                "downloads",
                "creates",
                "polls",
                "ok",
            ],
            rows,
        )
    )
    runners = [r for r in rows if r[0].startswith("replicate_batch")]
    worst_rss = max(r[8] for r in runners)
    ratios = sorted(r[4] for r in runners)
    windows = sorted(r[6] for r in runners)
    median, window_median = statistics.median(ratios), statistics.median(windows)
    print(
        f"replicate_batch: peak RSS {worst_rss:.1f} MB (target < 200): "
        f"{'met' if worst_rss < 200 else 'NOT met'}; throughput x plain requests, median of "
        f"{len(ratios)} rounds: {median:.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f}) over the whole run, "
        f"{window_median:.2f} (range {windows[0]:.2f}-{windows[-1]:.2f}) over the download window "
        f"(target >= 0.8): {'met' if median >= 0.8 else 'NOT met'}"
    )
    print(
        "MB/s: bytes written / the side's wall time (the runner's includes its creates, journal, results "
        "and report); window_MB/s: bytes / first download request to last download answer, as the "
        "emulator saw them; rounds alternate which side goes first"
    )
    print(f"at the end: {load_line()}")


def _urls_of(emulator: TimedEmulator, log: list[Any]) -> list[list[str]]:
    created = [e.prediction_id for e in log if e.endpoint == "create" and e.prediction_id]
    return [
        [f"{emulator.base_url}/delivery/{pid}/out-{i}.bin" for i in range(FILES_PER_PREDICTION)]
        for pid in created
    ]


def _row(label: str, figures: dict[str, Any], log: list[Any]) -> list[Any]:
    wall = figures["ended"] - figures["started"]
    megabytes = figures["bytes"] / 2**20
    downloads = [e for e in log if e.endpoint == "download"]
    window = max(e.end for e in downloads) - min(e.start for e in downloads) if downloads else wall
    kinds = request_kinds(log)
    return [
        label,
        wall,
        megabytes,
        megabytes / wall,
        megabytes / window,
        figures["run_cpu_s"],
        figures["maxrss_mb"],
        kinds["download"],
        kinds["create"],
        kinds["poll"],
        figures["ok"],
    ]


if __name__ == "__main__":
    main()
