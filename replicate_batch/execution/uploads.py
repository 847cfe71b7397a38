"""Local input files uploaded once per run and model backend, however many jobs use them."""

from __future__ import annotations

import threading
from pathlib import Path

from ..backends.base import Backend
from .retry import RetryPolicy


class UploadCache:
    """Each local file is uploaded once per run and model backend, however many jobs use it."""

    def __init__(self, backend: Backend, policy: RetryPolicy) -> None:
        self.backend = backend
        self.policy = policy
        self._values: dict[Path, str] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def value_for(self, path: Path) -> str:
        """The input value for a local file, uploading it the first time."""
        with self._guard:
            lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            if path not in self._values:
                self._values[path] = self.policy.tries()(self.backend.prepare_file, path)
            return self._values[path]
