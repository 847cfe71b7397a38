"""Shared pieces of the benchmarks: a timed emulator, child processes, figures and tables.

Every benchmark runs the Replicate API emulator in the parent process and each measured side in a
fresh child process (the same script with `--child`), so CPU time and peak RSS are per side. A
child prints one JSON line with its figures as the last line of its stdout.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the emulator lives in the project's tests package
    sys.path.insert(0, str(ROOT))

from tests import replicate_emulator  # noqa: E402
from tests.replicate_emulator import Emulator, ModelDef, PredictContext  # noqa: E402

__all__ = [
    "ROOT",
    "TOKEN",
    "Emulator",
    "Logged",
    "ModelDef",
    "PredictContext",
    "TimedEmulator",
    "child_args",
    "child_figures",
    "cpu_s",
    "emit",
    "load_line",
    "machine_line",
    "measured_run",
    "prompt_rows",
    "request_kinds",
    "results_rows",
    "run_child",
    "table",
    "text_model",
]

TOKEN = "r8_benchmark_token"
CHILD_FLAG = "--child"


@dataclass(frozen=True)
class Logged:
    """One request as the timed emulator saw it: wall-clock start and end, where it went, status."""

    start: float  # time.time()
    end: float
    endpoint: str  # create, get, download, model, upload, list, cancel, file, other
    method: str
    path: str
    status: int
    prediction_id: str | None = None  # the prediction a create, get or cancel answered about


class TimedEmulator(Emulator):
    """The project's emulator, plus a timestamped log of every request (the stock log has no times)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timed: list[Logged] = []
        self._timed_lock = threading.Lock()

    def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes, peer: str = "") -> Any:
        start = time.time()
        reply = super()._handle(method, target, headers, raw, peer)
        path = target.partition("?")[0]
        route = replicate_emulator._route(method, path)
        state = getattr(reply, "prediction", None)
        entry = Logged(
            start,
            time.time(),
            route[0] if route else "other",
            method,
            path,
            reply.status,
            state.id if state is not None else None,
        )
        with self._timed_lock:
            self.timed.append(entry)
        return reply

    def mark(self) -> int:
        """Position in the timed log, to slice one side's requests out later."""
        with self._timed_lock:
            return len(self.timed)

    def since(self, mark: int) -> list[Logged]:
        """Requests logged after `mark`."""
        with self._timed_lock:
            return self.timed[mark:]


def request_kinds(log: Iterable[Logged]) -> Counter[str]:
    """Requests by kind: create, poll (GET a prediction), download, other; plus 429s."""
    kinds: Counter[str] = Counter()
    for entry in log:
        kind = {"create": "create", "get": "poll", "download": "download"}.get(entry.endpoint, "other")
        kinds[kind] += 1
        if entry.status == 429:
            kinds["429"] += 1
    return kinds


def text_model(owner: str, name: str, duration_s: float, *, official: bool = False) -> ModelDef:
    """A model that takes a prompt and answers text after `duration_s` model seconds."""

    def predict(inputs: dict[str, Any], ctx: PredictContext) -> str:
        return f"echo: {inputs['prompt']}"

    return ModelDef(
        owner=owner,
        name=name,
        official=official,
        input_schema={
            "type": "object",
            "required": ["prompt"],
            "properties": {"prompt": {"type": "string", "title": "Prompt", "x-order": 0}},
        },
        output_schema={"type": "string"},
        predict=predict,
        duration_s=duration_s,
    )


def cpu_s() -> float:
    """CPU seconds (user + system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_figures(**extra: Any) -> dict[str, Any]:
    """This process's CPU seconds (user + system, all threads) and peak RSS in MB, plus `extra`."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        **extra,
    }


def prompt_rows(count: int, prompt: str = "row {i}") -> list[dict[str, str]]:
    """`count` input rows, each an id and a prompt (`{i}` is the row's number)."""
    return [{"id": str(i), "prompt": prompt.format(i=i)} for i in range(count)]


def measured_run(
    spec: Mapping[str, Any],
    *,
    scale: float | None = None,
    tmp_dir: str | None = None,
    inspect: Callable[[Path], Mapping[str, Any]] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Child side: `run_batch(spec)` into a temporary folder (removed after), and what every script reads.

    Returns `started`/`ended` (`time.time()`, to line up with the emulator's log), `wall_s`,
    `run_cpu_s` (the run alone, imports left out), `counts` by status, and whatever `inspect` finds in
    the run folder before it is removed. `options` go to `run_batch` (default: quiet, output swallowed).
    """
    import io
    import shutil
    import tempfile

    from replicate_batch import run_batch
    from replicate_batch.clock import Clock

    out_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=tmp_dir))
    options = {"quiet": True, "stderr": io.StringIO(), **options}
    if scale is not None:
        options["clock"] = Clock(time_scale=scale)
    try:
        started, cpu_started = time.time(), cpu_s()
        summary = run_batch(dict(spec), output_dir=out_dir, **options)
        ended, run_cpu_s = time.time(), cpu_s() - cpu_started
        assert summary.run_dir is not None
        found = dict(inspect(summary.run_dir)) if inspect else {}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return {
        "started": started,
        "ended": ended,
        "wall_s": ended - started,
        "run_cpu_s": run_cpu_s,
        "counts": dict(summary.counts),
        **found,
    }


def results_rows(run_dir: Path) -> dict[str, int]:
    """An `inspect` for `measured_run`: how many rows results.csv holds."""
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        return {"results_rows": sum(1 for _ in csv.DictReader(handle))}


def emit(figures: Mapping[str, Any]) -> None:
    """Hand a child's figures to the parent: one JSON line, last on stdout."""
    sys.stdout.write(json.dumps(dict(figures)) + "\n")
    sys.stdout.flush()


def run_child(
    script: str | Path, side: str, config: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run `script --child SIDE CONFIG_JSON` in a fresh interpreter and return its figures."""
    command = [sys.executable, str(script), CHILD_FLAG, side, json.dumps(dict(config))]
    child_env = {**os.environ, **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, env=child_env, cwd=ROOT, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"child {side} failed with exit code {done.returncode}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def child_args(argv: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """(side, config) when this process is a child, else None."""
    if len(argv) >= 3 and argv[0] == CHILD_FLAG:
        config: dict[str, Any] = json.loads(argv[2])
        return argv[1], config
    return None


def run_as_child(sides: Mapping[str, Callable[[dict[str, Any]], None]]) -> bool:
    """If this process was started by `run_child`, run the named side with its config and say so."""
    found = child_args(sys.argv[1:])
    if found is None:
        return False
    side, config = found
    sides[side](config)
    return True


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = []
    for row in [[str(h) for h in headers], *cells]:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(padded))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine_line() -> str:
    """What ran the benchmark: CPU count and model, Python, the replicate client's version."""
    from importlib import metadata

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {os.cpu_count()} CPUs ({model or platform.processor() or '?'}), "
        f"Python {platform.python_version()}, replicate {metadata.version('replicate')}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {load_line()}"
    )


def load_line() -> str:
    """The machine's load averages: other work on the same cores skews every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"
