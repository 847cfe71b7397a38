"""Soak: a batch against a misbehaving emulator, killed with SIGKILL at random moments and resumed.

    .venv/bin/python benchmarks/soak.py                      # 300 jobs, concurrency 32, 5 kills, seed 1
    .venv/bin/python benchmarks/soak.py --seed 7 --jobs 100 --kills 3

Issue 11's promise, checked from the outside: whatever the server does and whenever the runner dies, no
prediction is paid for twice, no row is lost or doubled, and every file on disk is the one the server made.

The emulator (`tests/replicate_emulator.py`) runs in this process with two models: `soak/text` (text) and
`soak/files` (1-3 output files whose bytes follow from the prompt); every row runs on both. Every request
rolls seeded dice against a table of faults (500s, connections dropped before and after the server did the
work, ghost creates, creates held before the prediction exists, stalled polls and downloads, truncated
downloads, failing lookups), and 429 storms on creates and polls come and go; the files of one prediction
in 32 cannot be fetched at all until the last resume (503: those rows are recorded failed with their
prediction id, and every resume fetches them again by id, never creating them anew). The runner is a real
subprocess, `python -m replicate_batch SPEC` (then `--resume RUN_DIR`), with `REPLICATE_BASE_URL` pointing
at the emulator; it is killed with SIGKILL a random time (seeded, `--kill-after`) after its first request
`--kills` times, then resumed once more to completion.

Then it checks, and exits 1 if any check fails:
- predictions made per (model, input) at the emulator: all 1 (create requests that the server refused,
  dropped before doing anything or throttled are not predictions; they are counted apart);
- rows per job in results.csv: all 1, every job present, every row `succeeded`, its prediction id the one
  prediction made for its input;
- outputs: each text is the model's answer to that row; each file listed in results.csv exists and its bytes
  equal what the emulator served for that prediction (and what the model makes for that row);
- the last resume exits 0.

Time: the runner runs on real time, the emulator's model time is scaled (`--scale`, default 0.1: a 2-12
model-second prediction takes 0.2-1.2 s). A resume waits out the request timeout of creates that the killed
run had sent but the server does not list (`hosted.py`: 15 s to send + the 60 s sync wait + 0.5 s = 75.5 s
after the create was sent, whatever the spec's `timeout`), so each kill can add up to ~75 s to the soak.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    TOKEN,
    ModelDef,
    PredictContext,
    TimedEmulator,
    load_line,
    machine_line,
    request_kinds,
    table,
)

from replicate_batch.runfolder.journal import journal_events, read_journal
from tests import replicate_emulator
from tests.replicate_emulator import UNTIL_REMOVED, Fault

TEXT_MODEL = "soak/text"
FILES_MODEL = "soak/files"
OUTAGE_SHARE = 1 / 32  # predictions whose files cannot be fetched until the last resume
LONG_SHARE = 0.05  # predictions longer than the 60 s sync wait: answered `processing`, then polled
SYNC_WAIT_S = 60.0  # model seconds the emulator holds a `Prefer: wait` create
CREATE_WINDOW_S = 75.5  # hosted.py: CREATE_SEND_S + sync wait + CREATE_ANSWER_GRACE_S (real seconds)

# (what, endpoint, probability per request, Fault fields). Seconds in `hold_s` are model seconds
# (scaled), in `delay_s` real seconds.
FAULTS: list[tuple[str, str, float, dict[str, Any]]] = [
    ("create: 500, nothing made", "create", 0.04, {"status": 500}),
    ("create: dropped before it was made", "create", 0.03, {"drop": True}),
    ("create: ghost (made, answer dropped)", "create", 0.04, {"drop": True, "after": True}),
    ("create: held 25 s before it is made", "create", 0.03, {"hold_s": 25.0}),
    (
        "create: held 25 s, made, answer dropped",
        "create",
        0.02,
        {"hold_s": 25.0, "drop": True, "after": True},
    ),
    ("poll: 500", "get", 0.04, {"status": 500}),
    ("poll: dropped", "get", 0.03, {"drop": True}),
    ("poll: stalled 1.5 s", "get", 0.02, {"delay_s": 1.5}),
    ("lookup (list): 500", "list", 0.05, {"status": 500}),
    ("download: 500", "download", 0.05, {"status": 500}),
    ("download: dropped", "download", 0.03, {"drop": True}),
    ("download: truncated", "download", 0.03, {"truncate": True}),
    ("download: stalled 1.5 s", "download", 0.02, {"delay_s": 1.5}),
]

# Outside what the runner promises (a create answered with an error is taken as not made, and sent
# again), so off unless asked for (`--errors-after-create`): it shows what such answers cost.
ERRORS_AFTER_CREATE: list[tuple[str, str, float, dict[str, Any]]] = [
    ("create: made, then answered 502", "create", 0.02, {"status": 502, "after": True}),
]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def expected_text(prompt: str) -> str:
    """What `soak/text` answers."""
    return f"soak answer to {prompt}"


def expected_files(prompt: str) -> list[bytes]:
    """What `soak/files` makes: 1-3 files of 1-200 KB, bytes that follow from the prompt and the index."""
    count = 1 + _digest(prompt, "count")[0] % 3
    files = []
    for index in range(count):
        size = 1024 + int.from_bytes(_digest(prompt, index, "size")[:4], "big") % 200_000
        block = _digest(prompt, index)
        files.append((block * (size // len(block) + 1))[:size])
    return files


def model_seconds(inputs: dict[str, Any]) -> float:
    """2-12 model seconds; one prediction in 20 outlasts the sync wait (70-90 s) and is polled."""
    roll = int.from_bytes(_digest(inputs["prompt"], "duration")[:4], "big") / 2**32
    if roll < LONG_SHARE:
        return SYNC_WAIT_S + 10 + 20 * roll / LONG_SHARE
    return 2 + 10 * (roll - LONG_SHARE) / (1 - LONG_SHARE)


def soak_models() -> list[ModelDef]:
    """`soak/text` and `soak/files`, each taking a `prompt`."""
    schema = {
        "type": "object",
        "required": ["prompt"],
        "properties": {"prompt": {"type": "string", "title": "Prompt", "x-order": 0}},
    }

    def text(inputs: dict[str, Any], ctx: PredictContext) -> str:
        return expected_text(inputs["prompt"])

    def files(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
        return [ctx.file(data, f"out-{i}.bin") for i, data in enumerate(expected_files(inputs["prompt"]))]

    owner, _, text_name = TEXT_MODEL.partition("/")
    files_name = FILES_MODEL.partition("/")[2]
    uri_list = {"type": "array", "items": {"type": "string", "format": "uri"}}
    return [
        ModelDef(owner, text_name, schema, {"type": "string"}, text, duration_s=model_seconds),
        ModelDef(owner, files_name, schema, uri_list, files, duration_s=model_seconds),
    ]


class SoakEmulator(TimedEmulator):
    """The timed emulator, plus how each create was answered (status, or `dropped`), by (model, prompt)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.create_answers: list[tuple[tuple[str, str], str]] = []

    def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes, peer: str = "") -> Any:
        reply = super()._handle(method, target, headers, raw, peer)
        route = replicate_emulator._route(method, target.partition("?")[0])
        if route is not None and route[0] == "create":
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("input"), dict):
                model = self._versions.get(str(body.get("version")))
                key = (model.ref if model else "?", str(body["input"].get("prompt")))
                with self._timed_lock:
                    self.create_answers.append((key, "dropped" if reply.drop else str(reply.status)))
        return reply


class Chaos:
    """Faults throughout the soak: seeded dice per request, and 429 storms that come and go."""

    def __init__(
        self, emulator: SoakEmulator, rng: random.Random, rate: float, scale: float, errors_after_create: bool
    ) -> None:
        self.emulator = emulator
        self.errors_after_create = errors_after_create
        self.rng = rng
        self.rate = rate
        self.scale = scale
        self.fired: Counter[str] = Counter()
        self.storms = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._storms, name="soak-storms", daemon=True)
        # The files of one prediction in OUTAGE_SHARE cannot be fetched until the last resume: their rows
        # are recorded failed with their prediction id, and each resume fetches them again by that id.
        self._outage = Fault("download", status=503, times=UNTIL_REMOVED, match=self._in_outage)

    def _in_outage(self, subject: Any) -> bool:
        prediction_id = subject["path"].split("/")[2]
        hit = _digest(prediction_id, "outage")[0] < 256 * OUTAGE_SHARE
        if hit:
            with self._lock:
                self.fired[f"download: 503 until the last resume (1 prediction in {1 / OUTAGE_SHARE:g})"] += 1
        return hit

    def heal(self) -> None:
        """End the outage of downloads."""
        self.emulator.remove_fault(self._outage)

    def start(self) -> None:
        """Install the outage and the fault table, and start the storms."""
        self.emulator.add_fault(self._outage)
        for what, endpoint, chance, fields in FAULTS + (
            ERRORS_AFTER_CREATE if self.errors_after_create else []
        ):
            match = self._dice(what, chance * self.rate)
            self.emulator.add_fault(Fault(endpoint, times=UNTIL_REMOVED, match=match, **fields))
        self._thread.start()

    def stop(self) -> None:
        """No more faults: the service is healthy again."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.emulator.clear_faults()

    def _dice(self, what: str, chance: float) -> Callable[[Any], bool]:
        def match(subject: Any) -> bool:
            with self._lock:
                hit = self.rng.random() < chance
                if hit:
                    self.fired[what] += 1
            return hit

        return match

    def _storms(self) -> None:
        """Every 3-10 s a storm of 1-3 s: every create (and every other time every poll) answered 429."""
        while not self._stop.wait(self._uniform(3.0, 10.0)):
            with self._lock:
                polls_too = self.rng.random() < 0.5
            retry_after = self._uniform(1.0, 3.0) / self.scale  # model seconds, so 1-3 s real
            storm = [
                Fault(
                    "create",
                    status=429,
                    retry_after=retry_after,
                    times=UNTIL_REMOVED,
                    match=self._always("create: 429 (storm)"),
                )
            ]
            if polls_too:
                storm.append(
                    Fault(
                        "get",
                        status=429,
                        retry_after=retry_after,
                        times=UNTIL_REMOVED,
                        match=self._always("poll: 429 (storm)"),
                    )
                )
            self.storms += 1
            for fault in storm:
                self.emulator.add_fault(fault)
            self._stop.wait(self._uniform(1.0, 3.0))
            for fault in storm:
                self.emulator.remove_fault(fault)

    def _always(self, what: str) -> Callable[[Any], bool]:
        def match(subject: Any) -> bool:
            with self._lock:
                self.fired[what] += 1
            return True

        return match

    def _uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self.rng.uniform(low, high)


@dataclass
class Segment:
    """One runner process: started fresh or with --resume, killed or left to finish."""

    number: int
    command: str
    started: float  # time.time()
    ended: float = 0.0
    startup_s: float | None = None  # to its first request
    killed_after_s: float | None = None  # after its first request
    exit_code: int | None = None
    finished_rows: int = 0  # `finished` events in the journal when it ended
    in_flight: int = 0  # jobs a resume picks up: a create sent (or about to be), no result yet
    no_id: int = 0  # of those, the ones whose prediction id never arrived: looked up, maybe waited for
    log: Path = field(default_factory=Path)

    def end(self) -> str:
        """How it ended: killed, or its exit code."""
        if self.killed_after_s is not None:
            return f"SIGKILL at {self.killed_after_s:.1f} s"
        return f"exit {self.exit_code}"


def start_runner(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """`python -m replicate_batch ...` as a real child process, its output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)


def find_run_dir(output_dir: Path) -> Path | None:
    """The soak's one run folder, once the first runner has made it."""
    found = sorted(p for p in output_dir.iterdir() if p.is_dir()) if output_dir.exists() else []
    return found[0] if found else None


def journal_figures(run_dir: Path | None) -> tuple[int, int, int]:
    """From the run's journal: results, jobs a resume picks up, and those of them with no prediction id."""
    if run_dir is None or not (run_dir / "journal.jsonl").exists():
        return 0, 0, 0
    finished = sum(1 for event in journal_events(run_dir) if event.get("event") == "finished")
    pickups = read_journal(run_dir).pickups.values()
    return finished, len(pickups), sum(1 for p in pickups if p.prediction_id is None)


def watch(
    process: subprocess.Popen[bytes], emulator: SoakEmulator, kill_after_s: float | None, limit_s: float
) -> tuple[int | None, float | None, float | None]:
    """(exit code, startup s, killed after s): SIGKILL `kill_after_s` after the runner's first request.

    The first request is the runner's model lookup, made once its imports and preflight are done; with no
    `kill_after_s` the runner is left to finish (killed only past `limit_s`).
    """
    started = time.monotonic()
    models_seen = emulator.count("model")
    while emulator.count("model") == models_seen and process.poll() is None:
        time.sleep(0.02)
    startup_s = time.monotonic() - started if process.poll() is None else None
    if process.poll() is not None:
        return process.returncode, startup_s, None
    working = time.monotonic()
    try:
        return process.wait(timeout=kill_after_s if kill_after_s is not None else limit_s), startup_s, None
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None, startup_s, time.monotonic() - working


def write_spec(work: Path, rows: int, concurrency: int) -> Path:
    """The spec and its rows file: every row on both models."""
    with open(work / "rows.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prompt"])
        for i in range(rows):
            writer.writerow([f"r{i:04d}", f"soak row {i}: a lighthouse in a storm, take {i}"])
    spec = {
        "name": "soak",
        "concurrency": concurrency,
        "rate_limit": 6000,  # the emulator does not limit; 429s come from the storms
        "timeout": 1800,
        "retry": {"max_attempts": 8, "initial_wait": 0.2, "max_wait": 2.0},
        "models": [{"ref": TEXT_MODEL, "name": "text"}, {"ref": FILES_MODEL, "name": "files"}],
        "inputs": "rows.csv",
    }
    path = work / "soak.yaml"
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")  # JSON is YAML
    return path


@dataclass
class Check:
    """One invariant: its name, whether it held, and what was seen."""

    name: str
    ok: bool
    seen: str


def check_run(emulator: SoakEmulator, run_dir: Path, rows: int, final_exit: int | None) -> list[Check]:
    """Every invariant of the soak, from the emulator's state and the run folder."""
    checks: list[Check] = []
    refs = {TEXT_MODEL: "text", FILES_MODEL: "files"}
    with emulator._cond:
        predictions = list(emulator.predictions.values())

    made: dict[tuple[str, str], list[str]] = {}
    for state in predictions:
        made.setdefault((state.model, str(state.input.get("prompt"))), []).append(state.id)
    prompts = [f"soak row {i}: a lighthouse in a storm, take {i}" for i in range(rows)]
    wanted = [(ref, prompt) for ref in refs for prompt in prompts]
    per_input = Counter(len(made.get(key, [])) for key in wanted)
    extra = sorted(set(made) - set(wanted))
    twice = [(key, made[key]) for key in wanted if len(made.get(key, [])) > 1]
    seen = f"{dict(sorted(per_input.items()))} (predictions made: inputs), {len(predictions)} predictions"
    if twice:
        seen += "; made more than once: " + "; ".join(f"{k[0]} {k[1]!r}: {v}" for k, v in twice[:5])
    if extra:
        seen += f"; {len(extra)} inputs that are no job's"
    checks.append(Check("predictions made per input", set(per_input) == {1} and not extra, seen))

    sent: Counter[tuple[str, str]] = Counter()
    tried: Counter[tuple[str, str]] = Counter()  # answered other than 429: what `attempts` counts
    answers: Counter[str] = Counter()
    for key, answer in emulator.create_answers:
        sent[key] += 1
        tried[key] += answer != "429"
        answers[answer] += 1
    per_input_sent = Counter(sent[key] for key in wanted)
    checks.append(
        Check(
            "create requests per input (info)",
            True,
            f"{dict(sorted(per_input_sent.items()))} (requests: inputs); {len(emulator.create_answers)} "
            f"create requests, answered {dict(sorted(answers.items()))}",
        )
    )

    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        results = list(csv.DictReader(handle))
    per_job = Counter(r["job_id"] for r in results)
    per_pair = Counter((r["model"], r["row_id"]) for r in results)
    expected_pairs = {(name, f"r{i:04d}") for name in refs.values() for i in range(rows)}
    missing = expected_pairs - set(per_pair)
    checks.append(
        Check(
            "rows per job in results.csv",
            set(per_job.values()) == {1} and len(per_job) == 2 * rows and not missing,
            f"{dict(Counter(per_job.values()))} (rows: jobs), {len(per_job)} jobs of {2 * rows}, "
            f"{len(missing)} missing",
        )
    )
    statuses = Counter(r["status"] for r in results)
    failures = [
        f"{r['model']}/{r['row_id']}: {r['error'][:120]}" for r in results if r["status"] != "succeeded"
    ]
    checks.append(
        Check(
            "every row succeeded",
            set(statuses) == {"succeeded"},
            f"{dict(statuses)}" + ("; " + "; ".join(failures[:5]) if failures else ""),
        )
    )

    name_to_ref = {name: ref for ref, name in refs.items()}
    wrong_id, wrong_text, texts = [], [], 0
    files_checked, files_bad = 0, []
    listed: set[str] = set()
    for row in results:
        ref, prompt = name_to_ref.get(row["model"], "?"), row["input.prompt"]
        ids = made.get((ref, prompt), [])
        if row["prediction_id"] not in ids:
            wrong_id.append(f"{row['model']}/{row['row_id']}")
        if row["status"] != "succeeded":
            continue
        if ref == TEXT_MODEL:
            texts += 1
            if row["output"] != expected_text(prompt):
                wrong_text.append(f"{row['row_id']}: {row['output'][:60]!r}")
            continue
        paths = json.loads(row["files"] or "[]")
        listed.update(paths)
        wanted_bytes = expected_files(prompt)
        if len(paths) != len(wanted_bytes):
            files_bad.append(f"{row['row_id']}: {len(paths)} files listed, {len(wanted_bytes)} made")
        for index, relative in enumerate(paths):
            files_checked += 1
            path = run_dir / relative
            served = emulator.output_files.get((row["prediction_id"], f"out-{index}.bin"))
            if not path.is_file():
                files_bad.append(f"{relative}: missing")
            elif served is None:
                files_bad.append(
                    f"{relative}: the emulator served no out-{index}.bin for {row['prediction_id']}"
                )
            else:
                data = path.read_bytes()
                if data != served or index >= len(wanted_bytes) or data != wanted_bytes[index]:
                    files_bad.append(f"{relative}: {len(data)} bytes, not the {len(served)} served")
    checks.append(
        Check(
            "prediction id per row is the one made for its input",
            not wrong_id,
            f"{len(wrong_id)} wrong " + " ".join(wrong_id[:5]),
        )
    )
    checks.append(
        Check(
            "text outputs verified",
            not wrong_text,
            f"{texts - len(wrong_text)} of {texts} " + " ".join(wrong_text[:3]),
        )
    )
    checks.append(
        Check(
            "output files verified (exist, bytes as served)",
            not files_bad,
            f"{files_checked - len(files_bad)} of {files_checked}"
            + ("; " + "; ".join(files_bad[:5]) if files_bad else ""),
        )
    )
    on_disk = {p.relative_to(run_dir).as_posix() for p in (run_dir / "files").rglob("*") if p.is_file()}
    stray = on_disk - listed
    parts = [p for p in stray if p.endswith(".part")]
    checks.append(
        Check(
            "files on disk not in results.csv (info)",
            True,
            f"{len(stray)} ({len(parts)} .part files left by kills)"
            + (": " + ", ".join(sorted(stray)[:3]) if stray else ""),
        )
    )
    attempts = Counter(int(r["attempts"] or 0) for r in results)
    differ: Counter[str] = Counter()
    for row in results:
        given, answered = (
            int(row["attempts"] or 0),
            tried[(name_to_ref.get(row["model"], "?"), row["input.prompt"])],
        )
        if given != answered:
            differ["higher" if given > answered else "lower"] += 1
    checks.append(
        Check(
            "attempts column (info)",
            True,
            f"{dict(sorted(attempts.items()))} (attempts: rows); rows whose attempts differ from the creates "
            f"the server answered other than 429: {dict(differ) or 0}",
        )
    )
    server = Counter(state.status for state in predictions)
    checks.append(Check("predictions' status at the emulator (info)", True, str(dict(server))))
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    checks.append(Check("manifest status (info)", True, str(manifest.get("status"))))
    checks.append(Check("last resume exits 0", final_exit == 0, f"exit {final_exit}"))
    return checks


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1, help="seeds the kill moments, the faults and the ids")
    parser.add_argument("--jobs", type=int, default=300, help="jobs in all (an even number: rows x 2 models)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs before the last resume")
    parser.add_argument(
        "--kill-after",
        default="1.5,8",
        help="LOW,HIGH: kill this many seconds after the runner's first request",
    )
    parser.add_argument(
        "--scale", type=float, default=0.1, help="real seconds per model second at the emulator"
    )
    parser.add_argument("--fault-rate", type=float, default=1.0, help="multiplies every fault's probability")
    parser.add_argument(
        "--final-limit", type=float, default=900.0, help="give up on the last resume after this"
    )
    parser.add_argument(
        "--errors-after-create",
        action="store_true",
        help="also answer 2%% of creates 502 after making the prediction (outside the runner's promise)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (kept anyway when a check fails)"
    )
    args = parser.parse_args()
    if args.jobs < 2 or args.jobs % 2:
        parser.error("--jobs must be an even number of at least 2 (every row runs on two models)")
    return args


def main() -> int:
    args = parse_args()
    low, high = (float(x) for x in args.kill_after.split(","))
    rng = random.Random(args.seed)
    rows = args.jobs // 2
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    output_dir = work / "runs"
    spec = write_spec(work, rows, args.concurrency)
    print(machine_line())
    print(
        f"soak: {args.jobs} jobs ({rows} rows x 2 models), concurrency {args.concurrency}, {args.kills} "
        f"SIGKILLs {low:g}-{high:g} s after each runner's first request, seed {args.seed}, fault rate "
        f"x{args.fault_rate:g}, model time x{args.scale:g}; work folder {work}"
    )
    emulator = SoakEmulator(token=TOKEN, time_scale=args.scale, seed=args.seed)
    for model in soak_models():
        emulator.add_model(model)
    emulator.start()
    chaos_rng = random.Random(args.seed * 1_000_003 + 1)
    chaos = Chaos(emulator, chaos_rng, args.fault_rate, args.scale, args.errors_after_create)
    chaos.start()
    env = {**os.environ, "REPLICATE_API_TOKEN": TOKEN, "REPLICATE_BASE_URL": emulator.base_url}
    base = [sys.executable, "-m", "replicate_batch", str(spec), "--output-dir", str(output_dir)]
    segments: list[Segment] = []
    marks: list[int] = []
    soak_started = time.time()
    run_dir: Path | None = None
    try:
        for number in range(args.kills + 1):
            run_dir = find_run_dir(output_dir)
            command = base + (["--resume", str(run_dir)] if run_dir else [])
            segment = Segment(
                number, "resume" if run_dir else "run", time.time(), log=work / f"runner-{number}.log"
            )
            last = number == args.kills
            kill_after_s = None if last else rng.uniform(low, high)
            if last:
                chaos.heal()
            marks.append(emulator.mark())
            process = start_runner(command, env, work, segment.log)
            segment.exit_code, segment.startup_s, segment.killed_after_s = watch(
                process, emulator, kill_after_s, args.final_limit
            )
            segment.ended = time.time()
            segment.finished_rows, segment.in_flight, segment.no_id = journal_figures(
                find_run_dir(output_dir)
            )
            segments.append(segment)
            print(
                f"  {number} {segment.command}: {segment.end()}; journal: {segment.finished_rows} results",
                flush=True,
            )
            if last and segment.killed_after_s is not None:
                print(f"  the last resume did not finish within {args.final_limit:g} s")
        soak_ended = time.time()
        chaos.stop()
        run_dir = find_run_dir(output_dir)
        if run_dir is None:
            print("no run folder was made")
            return 1
        checks = check_run(emulator, run_dir, rows, segments[-1].exit_code)
    finally:
        chaos.stop()
        emulator.stop()

    seg_rows = []
    for i, segment in enumerate(segments):
        log = emulator.since(marks[i])[: (marks[i + 1] - marks[i]) if i + 1 < len(marks) else None]
        kinds = request_kinds(log)
        seg_rows.append(
            [
                f"{segment.number} {segment.command}",
                segment.started - soak_started,
                "-" if segment.startup_s is None else segment.startup_s,
                segment.ended - segment.started,
                segment.end(),
                segment.finished_rows,
                segment.in_flight,
                segment.no_id,
                kinds["create"],
                kinds["poll"],
                kinds["download"],
                kinds["429"],
            ]
        )
    headers = ["runner", "start_s", "startup_s", "ran_s", "end", "results", "in_flight", "no_id"]
    print(table([*headers, "creates", "polls", "downloads", "429s"], seg_rows))
    print(
        "start_s: since the soak began; startup_s: to the runner's first request (imports, spec,\n"
        "preflight); end: SIGKILL that long after the first request, or the exit code; results: `finished`\n"
        "events in the journal by then; in_flight: jobs the next resume picks up (create sent or about to\n"
        "be, no result); no_id: of those, creates whose answer never arrived (looked up, and waited for\n"
        "while they may still land); requests: from the runner's start to the next one's (a create held\n"
        "across a kill counts where it landed)"
    )
    print(f"faults fired ({sum(chaos.fired.values())} in all, {chaos.storms} 429 storms):")
    print(table(["fault", "times"], sorted(chaos.fired.items())))
    failed = [c for c in checks if not c.ok]
    print("checks:")
    for check in checks:
        print(f"  {'ok' if check.ok else 'FAILED':6} {check.name}: {check.seen}")
    total = soak_ended - soak_started
    final, before_s = segments[-1], sum(s.ended - s.started for s in segments[:-1])
    print(
        f"timings: soak {total:.1f} s; runners before the last {before_s:.1f} s; "
        f"last resume {final.ended - final.started:.1f} s (it waits up to {CREATE_WINDOW_S:g} s after a lost "
        "create was sent before creating it again)"
    )
    print(f"at the end: {load_line()}")
    if failed or args.keep:
        print(f"work folder kept: {work} (runner logs runner-N.log, the run folder under runs/)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        print(f"FAILED: {', '.join(c.name for c in failed)}")
        return 1
    print("all invariants held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
