"""Downloads: 200 predictions with 4 output files of 5 MB each, runner against plain `requests`.

    .venv/bin/python benchmarks/downloads.py            # 200 predictions x 4 x 5 MB = 4,000 MB
    .venv/bin/python benchmarks/downloads.py --quick    # 50 predictions

The model finishes at once, so the run is almost all downloading. Sides, each a fresh process on
the same files (the runner's predictions' outputs) at the same concurrency:
  replicate_batch  the whole run: create, download (streamed, 256 KiB chunks), CSV
  requests         plain requests streaming each file to disk, one Session per thread
  requests+fsync   the same, with an fsync per file (the runner did that when the recorded figures
                   were taken; it no longer does)
Files go to a temporary folder on the same disk and are deleted after each side.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
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
    request_kinds,
    run_as_child,
    run_child,
    table,
)

FILES_PER_PREDICTION = 4
FILE_MB = 5
CHUNK_BYTES = 256 * 1024  # as replicate_batch.download
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
    from replicate_batch import run_batch

    out_dir = Path(tempfile.mkdtemp(prefix="bench-downloads-", dir=config["tmp"]))
    spec = {
        "name": "downloads",
        "models": [config["ref"]],
        "concurrency": config["concurrency"],
        "rate_limit": 1e6,
        "inputs": [{"id": str(i), "prompt": f"row {i}"} for i in range(config["predictions"])],
    }
    started, cpu_started = time.time(), cpu_s()
    summary = run_batch(spec, output_dir=out_dir, quiet=True, stdout=io.StringIO(), stderr=io.StringIO())
    ended = time.time()
    assert summary.run_dir is not None
    written = folder_bytes(summary.run_dir / "files")
    shutil.rmtree(out_dir, ignore_errors=True)
    emit(
        child_figures(
            started=started,
            ended=ended,
            run_cpu_s=cpu_s() - cpu_started,
            bytes=written,
            ok=summary.counts.get("succeeded", 0),
        )
    )


def run_requests(config: dict[str, Any]) -> None:
    """Child: plain requests streaming, a pool of `concurrency` threads, one prediction's files per task."""
    import requests

    out_dir = Path(tempfile.mkdtemp(prefix="bench-requests-", dir=config["tmp"]))
    local = threading.local()
    fsync = config["fsync"]

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
                    if fsync:
                        handle.flush()
                        os.fsync(handle.fileno())
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
        "--rounds", type=int, default=1, help="repeat all sides, each round on new predictions"
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
    try:
        for round_number in range(1, args.rounds + 1):
            round_rows = []
            mark = emulator.mark()
            figures = run_child(__file__, "replicate_batch", config, env)
            log = emulator.since(mark)
            round_rows.append(_row("replicate_batch", figures, log))
            # The plain sides fetch the very files this round's run downloaded.
            created = [e.prediction_id for e in log if e.endpoint == "create" and e.prediction_id]
            urls = [
                [f"{emulator.base_url}/delivery/{pid}/out-{i}.bin" for i in range(FILES_PER_PREDICTION)]
                for pid in created
            ]
            sides: list[tuple[str, str, dict[str, Any]]] = [
                ("requests", "requests", {**config, "urls": urls, "fsync": False}),
                ("requests+fsync", "requests", {**config, "urls": urls, "fsync": True}),
            ]
            for label, side, side_config in sides:
                mark = emulator.mark()
                figures = run_child(__file__, side, side_config, env)
                round_rows.append(_row(label, figures, emulator.since(mark)))
            reference = next(r for r in round_rows if r[0] == "requests")[3]
            for row in round_rows:
                row.insert(4, row[3] / reference)
                if args.rounds > 1:
                    row[0] = f"{row[0]} [{round_number}]"
            rows.extend(round_rows)
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
    runners = [r for r in rows if r[0].split(" [")[0] == "replicate_batch"]
    worst_rss, worst_ratio = max(r[7] for r in runners), min(r[4] for r in runners)
    print(
        f"replicate_batch: peak RSS {worst_rss:.1f} MB (target < 200): "
        f"{'met' if worst_rss < 200 else 'NOT met'}; throughput {worst_ratio:.2f}x plain requests "
        f"(worst round; target >= 0.8): {'met' if worst_ratio >= 0.8 else 'NOT met'}"
    )
    print(
        "MB/s: bytes written / the side's wall time (the runner's includes its creates); window_MB/s: "
        "bytes / first download request to last download answer, as the emulator saw them"
    )
    print(f"at the end: {load_line()}")


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
