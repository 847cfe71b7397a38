"""Start and stop Cog's own HTTP server (`python -m cog.server.http`) for a local model folder."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from ..errors import BackendSetupError

STARTUP_DEADLINE_S = 120.0
HEALTH_POLL_S = 0.05
STOP_GRACE_S = 5.0
LOG_TAIL_CHARS = 2000
FAILED_HEALTH = ("SETUP_FAILED", "DEFUNCT", "UNHEALTHY")
INSTALL_HINT = "pip install 'replicate-batch[cog]'"


def require_cog() -> None:
    """Fail with what to install when Cog's server is missing from this Python."""
    if importlib.util.find_spec("cog") is None or importlib.util.find_spec("coglet") is None:
        raise BackendSetupError(f"`cog:` models need Cog 0.23.1 in this Python: {INSTALL_HINT}")


def predictor_ref(folder: Path) -> str:
    """`predict:` from the folder's cog.yaml (e.g. `predict.py:Predictor`)."""
    config_path = folder / "cog.yaml"
    if not folder.is_dir():
        raise BackendSetupError(f"{folder} is not a folder: expected a Cog model folder with cog.yaml")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except OSError:
        raise BackendSetupError(f"{folder} has no cog.yaml: is it a Cog model folder?") from None
    except yaml.YAMLError as error:
        raise BackendSetupError(f"{config_path} is not valid YAML: {error}") from None
    ref = config.get("predict") if isinstance(config, dict) else None
    if not isinstance(ref, str) or ":" not in ref:
        raise BackendSetupError(f'{config_path} has no `predict: "predict.py:Predictor"` entry')
    if not (folder / ref.split(":", 1)[0]).is_file():
        raise BackendSetupError(f"{config_path} names {ref.split(':', 1)[0]}, which does not exist")
    return ref


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the runner dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class CogProcess:
    """One `cog.server.http` child process serving a model folder on a free loopback port."""

    def __init__(self, folder: Path, *, label: str, startup_deadline_s: float = STARTUP_DEADLINE_S) -> None:
        self.folder = folder
        self.label = label
        self.startup_deadline_s = startup_deadline_s
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="replicate-batch-cog-"))
        self.log_path = self._log_dir / "server.log"

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Spawn the server and wait until it is READY, failing with its log otherwise."""
        require_cog()
        ref = predictor_ref(self.folder)
        self.port = free_port()
        # coglet spawns its worker as plain `python` found on PATH, so this interpreter's bin goes first.
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PORT": str(self.port),
            "COG_PREDICT_TYPE_STUB": ref,
            "PYTHONUNBUFFERED": "1",
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"],
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops the server itself
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_deadline_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BackendSetupError(
                    f"the Cog server for `{self.label}` exited with code {self.process.returncode} "
                    f"during setup; its log ends:\n{self.log_tail()}"
                )
            health = self.health()
            status = health.get("status")
            if status in ("READY", "BUSY"):
                return
            if status in FAILED_HEALTH:
                setup = health.get("setup") or {}
                logs = setup.get("logs") if isinstance(setup, dict) else None
                raise BackendSetupError(
                    f"the Cog server for `{self.label}` reports {status}: "
                    f"{(logs or self.log_tail()).strip()[-LOG_TAIL_CHARS:]}"
                )
            time.sleep(HEALTH_POLL_S)
        raise BackendSetupError(
            f"the Cog server for `{self.label}` was not ready after {self.startup_deadline_s:g}s; "
            f"its log ends:\n{self.log_tail()}"
        )

    def health(self) -> dict[str, Any]:
        """`GET /health-check`, or an empty dict when the server does not answer."""
        try:
            response = requests.get(f"{self.url}/health-check", timeout=2)
            data = response.json()
        except (requests.RequestException, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def exit_code(self) -> int | None:
        """The process's exit code once it has ended, else None."""
        return None if self.process is None else self.process.poll()

    def log_tail(self) -> str:
        """The end of the server's log, for error messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Ask the server to shut down, then terminate and kill it if it lingers; no process is left."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(requests.RequestException):
                requests.post(f"{self.url}/shutdown", timeout=1)
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
        if process is not None:
            # A server that died on its own (killed, out of memory) leaves its worker running the
            # prediction it had; the worker is in the server's process group, so end what is left.
            _signal_group(process, signal.SIGKILL)
        shutil.rmtree(self._log_dir, ignore_errors=True)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def remove_prediction_dirs(prediction_ids: set[str]) -> None:
    """coglet leaves an empty temp folder per prediction; remove the ones this run made."""
    root = Path(tempfile.gettempdir()) / "coglet" / "predictions"
    for prediction_id in prediction_ids:
        shutil.rmtree(root / prediction_id, ignore_errors=True)
