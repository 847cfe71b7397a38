"""Real media bytes and synthetic run folders, for the report tests and the report benchmark."""

from __future__ import annotations

import csv
import io
import json
import struct
import wave
import zlib
from pathlib import Path

from replicate_batch.runfolder.results import COLUMNS

__all__ = ["solid_png", "tone_wav", "write_synthetic_run"]

SYNTHETIC_MODELS = ("painter", "writer", "analyst", "speaker")


def solid_png(width: int, height: int, rgb: tuple[int, int, int], noise: bytes = b"") -> bytes:
    """A valid PNG of one colour (or of `noise` bytes, cycled, to make it big and incompressible)."""
    row = bytes(rgb) * width
    lines = []
    for y in range(height):
        if noise:
            start = (y * width * 3) % len(noise)
            row = (noise[start:] + noise)[: width * 3]
        lines.append(b"\x00" + row)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(lines)))
        + chunk(b"IEND", b"")
    )


def tone_wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    """A valid mono 16-bit WAV of a square-wave tone."""
    frames = b"".join(struct.pack("<h", 6000 if (i // 20) % 2 else -6000) for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def write_synthetic_run(folder: Path, rows: int, *, failed_every: int = 25, write_files: bool = True) -> Path:
    """A run folder shaped like the runner's: `rows` rows x 4 models (2 PNGs, text, JSON, a WAV each).

    Every `failed_every`-th job fails; every 10th text is long (1,200 characters). With `write_files`
    False the results name their output files but none is written (for big runs whose files nothing reads).
    """
    folder.mkdir(parents=True)
    run_id = folder.name
    header = [*COLUMNS, "input.prompt", "_expected"]
    png = solid_png(64, 48, (200, 120, 40))
    wav = tone_wav()
    index = 0
    with open(folder / "results.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in range(1, rows + 1):
            prompt = f"prompt number {row}: a lighthouse in a storm, oil painting"
            for model in SYNTHETIC_MODELS:
                index += 1
                failed = index % failed_every == 0
                files: list[str] = []
                output = ""
                if not failed:
                    files, output = _outputs(folder, model, row, png, wav, write_files)
                record = {
                    "run_id": run_id,
                    "job_id": f"{index:016x}",
                    "model": model,
                    "model_ref": f"acme/{model}",
                    "version": "",
                    "row_id": str(row),
                    "repeat": "0",
                    "status": "failed" if failed else "succeeded",
                    "output": output,
                    "files": json.dumps(files),
                    "error": "CUDA out of memory" if failed else "",
                    "attempts": "1",
                    "prediction_id": f"p{index}",
                    "created_at": "2026-01-01T00:00:00.000Z",
                    "completed_at": "2026-01-01T00:00:01.000Z",
                    "predict_time": f"{(index % 17) / 10:.3f}",
                    "wall_time": f"{(index % 23) / 7 + 0.1:.3f}",
                    "input.prompt": prompt,
                    "_expected": "storm",
                }
                writer.writerow([record[c] for c in header])
    manifest = {
        "run_id": run_id,
        "name": "synthetic",
        "spec": None,
        "status": "finished",
        "models": [{"name": m, "model_ref": f"acme/{m}", "version": None} for m in SYNTHETIC_MODELS],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    models = [{"ref": f"acme/{m}", "name": m, "input": {}} for m in SYNTHETIC_MODELS]
    (folder / "spec.yaml").write_text(json.dumps({"name": "synthetic", "models": models}), encoding="utf-8")
    return folder


def _outputs(
    folder: Path, model: str, row: int, png: bytes, wav: bytes, write_files: bool
) -> tuple[list[str], str]:
    if model == "writer":
        words = "the beam sweeps the water and the waves answer " * (25 if row % 10 == 0 else 3)
        return [], words.strip()
    if model == "analyst":
        return [], json.dumps({"row": row, "mood": "stormy", "scores": [0.1, 0.7, 0.2]})
    names = ["output-0.png", "output-1.png"] if model == "painter" else ["speech.wav"]
    if write_files:
        target = folder / "files" / model / str(row)
        target.mkdir(parents=True)
        for name in names:
            (target / name).write_bytes(png if model == "painter" else wav)
    return [f"files/{model}/{row}/{name}" for name in names], ""
