"""The runner against Cog's real HTTP server (cog 0.23.1 / coglet): `cog:` folders and `url:` servers.

Nothing here is mocked: every test starts real `python -m cog.server.http` processes (through the
runner, or through `CogProcess` for the `url:` servers shared by the whole session) and checks the
run folder the runner leaves behind. Models that the runner starts itself are copied into
`tmp_path` first, so a process whose working directory is inside `tmp_path` is one this test
started, and "no process left behind" can be checked without confusing it with anything else.

No test can hang for long: every spec sets a short `timeout` (which bounds each prediction), every
wait for a subprocess polls with a bounded deadline, and subprocesses are killed in `finally`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from replicate_batch.backends.cog_http import CogBackend
from replicate_batch.backends.cog_process import CogProcess
from replicate_batch.cli import main
from replicate_batch.errors import SpecError
from replicate_batch.reports.dataframe import load_results
from replicate_batch.runner import run_batch

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_MODELS = REPO / "examples" / "models"
TEST_MODELS = REPO / "tests" / "cog_models"
DATA = REPO / "examples" / "data"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_S = 20  # the specs' `timeout`: no prediction in these tests may take longer
CONTRACT_COLUMNS = [  # design.md §4, in this order
    "run_id",
    "job_id",
    "model",
    "model_ref",
    "version",
    "row_id",
    "repeat",
    "status",
    "output",
    "files",
    "error",
    "attempts",
    "prediction_id",
    "created_at",
    "completed_at",
    "predict_time",
    "wall_time",
]


# -- helpers -------------------------------------------------------------------------------------


def copy_model(source: Path, parent: Path) -> Path:
    """A private copy of a model folder (with its `.cog/` schema), so its processes are ours alone."""
    return Path(shutil.copytree(source, parent / source.name))


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def only_run(output_dir: Path) -> Path:
    runs = [p for p in output_dir.iterdir() if p.is_dir()]
    assert len(runs) == 1, f"expected one run folder in {output_dir}, found {runs}"
    return runs[0]


def read_csv(run_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    with open(run_dir / "results.csv", encoding="utf-8", newline="") as handle:
        return header, list(csv.DictReader(handle))


def journal(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition about a real subprocess with short sleeps and a bounded deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {timeout_s:g}s waiting for {what}"
        time.sleep(0.02)


def processes_in(folder: Path) -> list[str]:
    """`pid: command line` of every process whose working directory is `folder` or below it."""
    root = str(folder.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append(f"{entry.name}: {args.strip()}")
    return found


def assert_no_process_left(folder: Path) -> None:
    """No server or worker runs in `folder` (a stopped server's worker may take a moment to go)."""
    deadline = time.monotonic() + 5.0
    while processes_in(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_in(folder) == []


def cog_servers_in(folder: Path) -> list[int]:
    """Pids of `cog.server.http` processes serving `folder`."""
    return [int(p.split(":", 1)[0]) for p in processes_in(folder) if "cog.server.http" in p]


def server_port(pid: int) -> int | None:
    """The `PORT` a server process was started with, or None if it is gone."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ports = [int(v.split(b"=", 1)[1]) for v in environ if v.startswith(b"PORT=")]
    return ports[0] if ports else None


def health(url: str) -> str:
    try:
        return str(requests.get(f"{url}/health-check", timeout=2).json().get("status"))
    except (requests.RequestException, ValueError):
        return "(no answer)"


def connections_to(url: str) -> int:
    """How many TCP connections this test process has open to the server at `url`."""
    port = int(url.rsplit(":", 1)[1])
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                count += 1
    return count


def server_log(process: CogProcess) -> list[tuple[str, str]]:
    """(message, prediction id) of every prediction event in a server's JSON log, in order."""
    events = []
    for line in process.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            fields = json.loads(line).get("fields", {})
        except ValueError:
            continue
        if "prediction_id" in fields:
            events.append((str(fields.get("message")), str(fields["prediction_id"])))
    return events


def started_on(process: CogProcess) -> set[str]:
    return {pid for message, pid in server_log(process) if message == "Starting prediction"}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def flaky_spec(urls: str | list[str], rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "flaky-url",
        "timeout": TIMEOUT_S,
        "models": [{"url": urls, "name": "flaky"}],
        "inputs": rows,
        **extra,
    }


# -- servers shared by the session (for `url:` entries) ------------------------------------------


@pytest.fixture(scope="session")
def flaky_servers() -> Iterator[tuple[CogProcess, CogProcess]]:
    """Two running servers of the `flaky` test model; tests must not crash them (no mode=crash)."""
    servers = (
        CogProcess(TEST_MODELS / "flaky", label="flaky-a", startup_deadline_s=60),
        CogProcess(TEST_MODELS / "flaky", label="flaky-b", startup_deadline_s=60),
    )
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def flaky_server(flaky_servers: tuple[CogProcess, CogProcess]) -> CogProcess:
    server = flaky_servers[0]
    # a slot frees a moment after its answer, so the previous test's last prediction may linger
    wait_until(lambda: health(server.url) == "READY", 5, "the shared server to be ready")
    return server


# -- 1. the whole pipeline through `cog:` entries ------------------------------------------------


def test_pipeline_on_the_three_example_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for model in ("caption", "patterns", "wordsmith"):
        copy_model(EXAMPLE_MODELS / model, tmp_path / "models")
    shutil.copytree(DATA, tmp_path / "data")
    spec = write_spec(
        tmp_path,
        {
            "name": "pipeline",
            "concurrency": 4,
            "timeout": TIMEOUT_S,
            "models": [
                {"cog": "models/caption"},  # relative to the spec file's folder
                {"cog": "models/patterns", "input": {"num_outputs": 2, "width": 32, "height": 24}},
                {"cog": "models/wordsmith"},
            ],
            "inputs": [
                {"id": "fridge", "prompt": "milk and eggs", "image": "data/fridge.png", "_expected": "white"},
                {"id": "beach", "prompt": "a sunset", "image": "data/beach.jpg", "_expected": "blue"},
            ],
            "matrix": {"seed": [1, 2]},
        },
    )
    out = tmp_path / "runs"

    code = main([str(spec), "--output-dir", str(out)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    run_dir = only_run(out)
    assert f"run folder: {run_dir}" in captured.out
    header, rows = read_csv(run_dir)
    assert header[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    rest = header[len(CONTRACT_COLUMNS) :]
    assert rest[-1] == "_expected"  # row metadata after the inputs
    assert set(rest[:-1]) == {
        "input.prompt",
        "input.image",
        "input.num_outputs",
        "input.width",
        "input.height",
        "input.seed",
    }

    # one row per job: patterns takes the seed (2 per row), the others run once per row
    jobs = sorted((r["model"], r["row_id"], r["input.seed"]) for r in rows)
    assert jobs == sorted(
        [("caption", row, "") for row in ("fridge", "beach")]
        + [("wordsmith", row, "") for row in ("fridge", "beach")]
        + [("patterns", row, seed) for row in ("fridge", "beach") for seed in ("1", "2")]
    )
    assert len({r["job_id"] for r in rows}) == len(rows) == 8
    assert len({r["prediction_id"] for r in rows}) == 8
    for row in rows:
        assert row["status"] == "succeeded", row
        assert (row["error"], row["attempts"], row["repeat"], row["version"]) == ("", "1", "0", "")
        assert row["run_id"] == run_dir.name
        assert row["model_ref"] == f"cog:models/{row['model']}"
        assert row["_expected"] == {"fridge": "white", "beach": "blue"}[row["row_id"]]
        assert float(row["predict_time"]) > 0
        assert float(row["wall_time"]) > 0
        assert parse_time(row["created_at"]) <= parse_time(row["completed_at"])
        # coglet's per-prediction temp folders of this run were tidied away
        assert not (Path(tempfile.gettempdir()) / "coglet" / "predictions" / row["prediction_id"]).exists()

    by_job = {(r["model"], r["row_id"], r["input.seed"]): r for r in rows}
    for row_id, image, kind in (("fridge", "data/fridge.png", "PNG"), ("beach", "data/beach.jpg", "JPEG")):
        caption = by_job[("caption", row_id, "")]
        assert f"A 160x120 RGB {kind} image" in caption["output"]  # the model really got the file
        assert caption["input.image"] == image  # the path as the spec gave it, not the bytes
        assert caption["files"] == "[]"
        # the image is not sent where the schema does not take it
        assert by_job[("wordsmith", row_id, "")]["input.image"] == ""
        assert by_job[("patterns", row_id, "1")]["input.image"] == ""

    words = {
        "fridge": "You wrote three words. The longest is milk, with 4 letters. "
        "M is for milk. A is for and. E is for eggs. That",  # cut at max_words' default, 24
        "beach": "You wrote two words. The longest is sunset, with 6 letters. "
        "A is for a. S is for sunset. That is all.",
    }
    for row_id, text in words.items():
        wordsmith = by_job[("wordsmith", row_id, "")]
        assert wordsmith["output"].rstrip() == text  # chunks joined, not a list
        assert wordsmith["files"] == "[]"

    all_pngs: set[str] = set()
    for row_id in ("fridge", "beach"):
        for seed in ("1", "2"):
            patterns = by_job[("patterns", row_id, seed)]
            assert patterns["output"] == ""  # files only
            files = json.loads(patterns["files"])
            assert len(files) == 2  # num_outputs
            for name in files:
                assert name.startswith(f"files/patterns/{row_id}/")
                assert f"seed-{seed}" in name
                assert (run_dir / name).read_bytes()[:8] == PNG_SIGNATURE
            all_pngs.update(files)
        on_disk = sorted((run_dir / "files" / "patterns" / row_id).iterdir())
        assert len(on_disk) == 2 * 2  # num_outputs x jobs of this row
        assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in on_disk)
    assert len(all_pngs) == 8
    assert not (run_dir / "files" / "caption").exists()

    df = load_results(run_dir)
    assert len(df) == 8 and (df["predict_time"] > 0).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["counts"] == {"succeeded": 8}
    assert_no_process_left(tmp_path / "models")


# -- 2. `url:` entries ---------------------------------------------------------------------------


def test_url_entry_runs_on_a_running_server(flaky_server: CogProcess, tmp_path: Path) -> None:
    rows = [{"id": "one", "prompt": "hello"}, {"id": "two", "prompt": "world"}]

    summary = run_batch(flaky_spec(flaky_server.url, rows), output_dir=tmp_path, quiet=True)

    assert summary.exit_code == 0
    _, results = read_csv(only_run(tmp_path))
    assert {r["row_id"]: r["output"] for r in results} == {"one": "ok: hello", "two": "ok: world"}
    assert {r["model_ref"] for r in results} == {f"url:{flaky_server.url}"}
    assert all(r["status"] == "succeeded" and float(r["predict_time"]) > 0 for r in results)
    assert {r["prediction_id"] for r in results} <= started_on(flaky_server)
    # The runner does not stop a server it did not start: it still answers (BUSY for a moment after a
    # prediction's answer, while Cog's worker finishes it, then READY).
    assert health(flaky_server.url) in {"READY", "BUSY"}
    assert connections_to(flaky_server.url) == 0  # every session the backend opened was closed


def test_a_cog_model_reports_only_predict_time_so_there_are_no_metric_columns(
    flaky_server: CogProcess, tmp_path: Path
) -> None:
    rows = [{"id": "one", "prompt": "hello"}]
    plan = run_batch(flaky_spec(flaky_server.url, rows), dry_run=True, quiet=True)
    assert plan.table.splitlines()[-2:] == [
        "where each model's predictions are created:",
        f"  flaky  Cog server {flaky_server.url} (PUT /predictions/{{id}})",
    ]

    summary = run_batch(flaky_spec(flaky_server.url, rows), output_dir=tmp_path, quiet=True)

    header, [result] = read_csv(only_run(tmp_path))
    assert header == [*CONTRACT_COLUMNS, "input.prompt"]
    assert float(result["predict_time"]) > 0  # Cog's one metric has its own column
    assert "tokens" not in summary.table and "first_token" not in summary.table


def test_url_entry_checks_inputs_against_the_servers_schema(flaky_server: CogProcess, tmp_path: Path) -> None:
    rows = [{"id": "one", "prompt": "hello", "mode": "explode"}]
    before = started_on(flaky_server)

    with pytest.raises(SpecError) as raised:
        run_batch(flaky_spec(flaky_server.url, rows), output_dir=tmp_path, quiet=True)

    message = str(raised.value)
    assert "inputs[0]" in message and "`mode`" in message and "is not one of 'ok'" in message
    assert started_on(flaky_server) == before
    assert not any(tmp_path.iterdir())


def test_a_list_of_urls_spreads_the_jobs(
    flaky_servers: tuple[CogProcess, CogProcess], tmp_path: Path
) -> None:
    first, second = flaky_servers
    rows = [{"id": f"r{i}", "prompt": f"p{i}"} for i in range(6)]

    summary = run_batch(
        flaky_spec([first.url, second.url], rows, concurrency=2), output_dir=tmp_path, quiet=True
    )

    assert summary.exit_code == 0
    _, results = read_csv(only_run(tmp_path))
    assert sorted(r["output"] for r in results) == sorted(f"ok: p{i}" for i in range(6))
    ids = {r["prediction_id"] for r in results}
    # each server's own log names the predictions it ran: both got work, together all of it
    on_first, on_second = ids & started_on(first), ids & started_on(second)
    assert on_first and on_second
    assert on_first | on_second == ids and not on_first & on_second


def test_backend_stop_closes_every_connection_it_opened(flaky_server: CogProcess) -> None:
    backend = CogBackend(f"url:{flaky_server.url}", urls=[flaky_server.url], timeout_s=TIMEOUT_S)
    backend.start()  # health and schema, from this thread
    results: list[Any] = []
    worker = threading.Thread(  # a prediction from another thread, as the runner's pool does
        target=lambda: results.append(backend.create({"prompt": "hi"}, lambda _id: None, TIMEOUT_S))
    )
    worker.start()
    worker.join(TIMEOUT_S)
    assert [(r.status, r.output) for r in results] == [("succeeded", "ok: hi")]
    assert connections_to(flaky_server.url) >= 1  # keep-alive connections, still referenced

    backend.stop()

    assert connections_to(flaky_server.url) == 0
    assert health(flaky_server.url) == "READY"  # a `url:` server is not ours to stop


# -- 3. a busy server (HTTP 409) is waited out, not counted as a try ----------------------------


def test_busy_server_is_waited_out(flaky_server: CogProcess, tmp_path: Path) -> None:
    blocker = f"blocker-{uuid.uuid4().hex[:12]}"
    answer: dict[str, Any] = {}

    def occupy_the_only_slot() -> None:
        body = {"id": blocker, "input": {"prompt": "first", "mode": "sleep", "sleep_s": 1.0}}
        answer["body"] = requests.put(
            f"{flaky_server.url}/predictions/{blocker}", json=body, timeout=TIMEOUT_S
        ).json()
        answer["done_at"] = time.monotonic()

    thread = threading.Thread(target=occupy_the_only_slot)
    thread.start()
    try:
        wait_until(lambda: health(flaky_server.url) == "BUSY", 5, "the server to be busy")
        run_started = time.monotonic()
        summary = run_batch(
            flaky_spec(flaky_server.url, [{"id": "second", "prompt": "second"}]),
            output_dir=tmp_path,
            quiet=True,
        )
    finally:
        thread.join(TIMEOUT_S)

    assert answer["body"]["status"] == "succeeded"  # the runner did not disturb the running one
    assert run_started < answer["done_at"]  # the runner came while the only slot was taken...
    assert summary.exit_code == 0
    run_dir = only_run(tmp_path)
    _, [result] = read_csv(run_dir)
    assert (result["status"], result["output"], result["attempts"]) == ("succeeded", "ok: second", "1")
    assert [e["event"] for e in journal(run_dir)].count("creating") == 1
    # ...and its prediction started on the server only after the blocker had finished
    log = server_log(flaky_server)
    assert log.index(("Prediction worker completed", blocker)) < log.index(
        ("Starting prediction", result["prediction_id"])
    )


# -- 4. a model that raises ----------------------------------------------------------------------


def test_model_error_fails_the_job_and_exit_code_is_1(
    flaky_server: CogProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": "bad", "prompt": "x", "mode": "raise"}, {"id": "good", "prompt": "y"}]
    spec = write_spec(tmp_path, flaky_spec(flaky_server.url, rows))
    out = tmp_path / "runs"

    code = main([str(spec), "--output-dir", str(out), "--quiet"])

    assert code == 1, capsys.readouterr().err
    _, results = read_csv(only_run(out))
    by_row = {r["row_id"]: r for r in results}
    assert by_row["bad"]["status"] == "failed"
    assert "asked to fail" in by_row["bad"]["error"]
    assert by_row["bad"]["attempts"] == "1"  # on_model_error is off by default
    assert (by_row["good"]["status"], by_row["good"]["output"]) == ("succeeded", "ok: y")


def test_model_error_is_retried_with_on_model_error(flaky_server: CogProcess, tmp_path: Path) -> None:
    spec = flaky_spec(
        flaky_server.url,
        [{"id": "bad", "prompt": "x", "mode": "raise"}],
        retry={"on_model_error": True, "max_attempts": 2, "initial_wait": 0.01},
    )

    summary = run_batch(spec, output_dir=tmp_path, quiet=True)

    assert summary.exit_code == 1
    run_dir = only_run(tmp_path)
    _, [result] = read_csv(run_dir)
    assert (result["status"], result["attempts"]) == ("failed", "2")
    assert "asked to fail" in result["error"]
    created = [e["prediction_id"] for e in journal(run_dir) if e["event"] == "created"]
    assert len(created) == 2 and result["prediction_id"] == created[-1]
    assert set(created) <= started_on(flaky_server)  # both attempts really ran


# -- 5. a server that dies mid-run ---------------------------------------------------------------


def test_worker_crash_fails_its_job_and_the_rest_on_that_server(tmp_path: Path) -> None:
    model = copy_model(TEST_MODELS / "flaky", tmp_path / "models")
    spec = {
        "name": "crash",
        "concurrency": 1,  # in order: the crash first, then a job for the poisoned server
        "timeout": TIMEOUT_S,
        "models": [{"cog": str(model)}],
        "inputs": [{"id": "boom", "prompt": "x", "mode": "crash"}, {"id": "after", "prompt": "y"}],
    }
    started = time.monotonic()

    summary = run_batch(spec, output_dir=tmp_path / "runs", quiet=True)

    assert time.monotonic() - started < TIMEOUT_S  # noticed, not timed out
    assert summary.exit_code == 1
    _, results = read_csv(only_run(tmp_path / "runs"))
    by_row = {r["row_id"]: r for r in results}
    assert by_row["boom"]["status"] == "failed"
    assert "Worker crashed" in by_row["boom"]["error"]
    assert by_row["after"]["status"] == "failed"
    assert "unhealthy" in by_row["after"]["error"] and "worker crashed" in by_row["after"]["error"]
    assert_no_process_left(tmp_path / "models")


def test_killed_server_fails_the_jobs_and_the_run_finishes(tmp_path: Path) -> None:
    model = copy_model(TEST_MODELS / "flaky", tmp_path / "models")
    out = tmp_path / "runs"
    spec = {
        "name": "killed",
        "concurrency": 1,
        "timeout": TIMEOUT_S,
        "retry": {"max_attempts": 2, "initial_wait": 0.01},
        "models": [{"cog": str(model)}],
        "inputs": [
            {"id": "slow", "prompt": "x", "mode": "sleep", "sleep_s": 2 * TIMEOUT_S},
            {"id": "after", "prompt": "y"},
        ],
    }
    killed: list[int] = []

    def kill_the_server_mid_prediction() -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with_port = [(pid, server_port(pid)) for pid in cog_servers_in(model)]
            busy = [pid for pid, port in with_port if port and health(f"http://127.0.0.1:{port}") == "BUSY"]
            if busy:
                try:
                    os.kill(busy[0], signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(busy[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_server_mid_prediction)
    killer.start()
    started = time.monotonic()
    try:
        summary = run_batch(spec, output_dir=out, quiet=True)
    finally:
        killer.join(TIMEOUT_S)

    assert killed, "the server never became busy"
    assert time.monotonic() - started < TIMEOUT_S  # the runner noticed; the timeout did not save it
    assert summary.exit_code == 1
    _, results = read_csv(only_run(out))
    for result in results:
        assert result["status"] == "failed", result  # failed, not canceled by the timeout
        assert "Cog server" in result["error"]
    assert_no_process_left(tmp_path / "models")


# -- 6. setup failures ---------------------------------------------------------------------------


def test_setup_failure_is_exit_2_naming_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_model(TEST_MODELS / "broken", tmp_path / "models")
    spec = write_spec(
        tmp_path, {"timeout": TIMEOUT_S, "models": [{"cog": "models/broken"}], "inputs": [{"prompt": "x"}]}
    )
    out = tmp_path / "runs"

    code = main([str(spec), "--output-dir", str(out)])

    err = capsys.readouterr().err
    assert code == 2
    assert "models[0]" in err and "`broken`" in err and "weights missing" in err
    assert "nothing was run" in err
    assert not out.exists()
    assert_no_process_left(tmp_path / "models")


@pytest.mark.parametrize(
    ("has_folder", "expected"),
    [(True, "has no cog.yaml: is it a Cog model folder?"), (False, "is not a folder")],
    ids=["no-cog-yaml", "no-folder"],
)
def test_not_a_cog_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], has_folder: bool, expected: str
) -> None:
    if has_folder:  # a predictor without its cog.yaml
        (tmp_path / "nocfg").mkdir()
        shutil.copy(TEST_MODELS / "flaky" / "predict.py", tmp_path / "nocfg")
    spec = write_spec(tmp_path, {"models": [{"cog": "nocfg"}], "inputs": [{"prompt": "x"}]})
    out = tmp_path / "runs"

    code = main([str(spec), "--output-dir", str(out)])

    err = capsys.readouterr().err
    assert code == 2
    assert "models[0]" in err and "nocfg" in err and expected in err
    assert not out.exists()


# -- 7. no process left behind after an interrupt ------------------------------------------------


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_cancels_in_flight_jobs_and_stops_the_servers(tmp_path: Path, signum: int) -> None:
    copy_model(TEST_MODELS / "flaky", tmp_path / "models")
    rows = [{"id": name, "prompt": name, "mode": "sleep", "sleep_s": 30} for name in ("a", "b")]
    spec = write_spec(
        tmp_path,
        {
            "concurrency": 2,
            "timeout": 60,
            "models": [{"cog": "models/flaky", "concurrency": 2}],  # two servers, both jobs in flight
            "inputs": rows,
        },
    )
    out = tmp_path / "runs"

    def both_running() -> bool:
        runs = list(out.glob("*/journal.jsonl")) if out.exists() else []
        created = sum(e["event"] == "created" for run in runs for e in journal(run.parent))
        ports = [server_port(pid) for pid in cog_servers_in(tmp_path / "models")]
        busy = [port for port in ports if port and health(f"http://127.0.0.1:{port}") == "BUSY"]
        return created == 2 and len(busy) == 2  # journaled, and really running on the servers

    with open(tmp_path / "stdout.txt", "wb") as stdout, open(tmp_path / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "replicate_batch", str(spec), "--output-dir", str(out)],
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            # as from a terminal: a shell starts background jobs with SIGINT ignored, and Python
            # then never turns SIGINT into KeyboardInterrupt
            preexec_fn=_default_sigint,
        )
        try:
            wait_until(lambda: both_running() or process.poll() is not None, 30, "both predictions")
            assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
            started = time.monotonic()
            process.send_signal(signum)
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    err = (tmp_path / "stderr.txt").read_text()
    assert code == 130, err
    assert time.monotonic() - started < 15  # the 30 s sleeps were canceled, not waited out
    assert "--resume" in err
    run_dir = only_run(out)
    _, results = read_csv(run_dir)
    assert sorted(r["row_id"] for r in results) == ["a", "b"]
    for result in results:
        assert (result["status"], result["error"]) == ("canceled", "interrupted"), result
        assert result["prediction_id"]
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    assert_no_process_left(tmp_path / "models")


# -- 8. a model without a schema -----------------------------------------------------------------


def test_model_without_schema_runs_unchecked(tmp_path: Path) -> None:
    stderr = io.StringIO()
    spec = {
        "timeout": TIMEOUT_S,
        "models": [{"cog": str(TEST_MODELS / "noschema")}],
        "inputs": [{"id": "twice", "text": "hi", "times": 2}],
    }

    notes: list[str] = []
    summary = run_batch(spec, output_dir=tmp_path, stderr=stderr, on_note=notes.append)

    assert summary.exit_code == 0
    assert notes == list(summary.notes) == ["`noschema` has no input schema: its inputs are unchecked"]
    assert "note:" not in stderr.getvalue()  # the library hands notes over; the CLI prints them
    _, [result] = read_csv(only_run(tmp_path))
    assert (result["status"], result["output"], result["input.times"]) == ("succeeded", "hi hi", "2")
    plan = run_batch(spec, dry_run=True, quiet=True).table.splitlines()
    assert plan[-1] == "  noschema  local Cog: 1 server the runner started (PUT /predictions/{id})"


# -- 9. inputs are checked against a `cog:` model's schema before anything runs ------------------


def test_input_out_of_range_for_the_cog_schema_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_model(EXAMPLE_MODELS / "patterns", tmp_path / "models")
    spec = write_spec(
        tmp_path,
        {
            "models": [{"cog": "models/patterns", "input": {"num_outputs": 9}}],
            "inputs": [{"id": "red", "prompt": "red"}],
        },
    )
    out = tmp_path / "runs"

    code = main([str(spec), "--output-dir", str(out)])

    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"(models\[0\]\.input|inputs\[0\])", err), err
    assert "num_outputs" in err and "maximum 4" in err and "`patterns`" in err
    assert not out.exists()
    assert_no_process_left(tmp_path / "models")
