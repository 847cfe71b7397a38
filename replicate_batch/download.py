"""Fetch output files to disk as they finish, streamed, before the server deletes them."""

from __future__ import annotations

import base64
import os
import threading
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

import requests

from .retry import DownloadError, RetryPolicy

CHUNK_BYTES = 256 * 1024
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class Downloader:
    """Writes http(s) and data URLs to files; one keep-alive session per thread."""

    def __init__(self, policy: RetryPolicy, timeout_s: float = 60.0) -> None:
        self.policy = policy
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def fetch(self, url: str, dest: Path) -> int:
        """Save `url` to `dest` (atomically, via a `.part` file); returns the byte count."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("data:"):
            return _write_atomically(dest, [_decode_data_url(url)])
        scheme = urllib.parse.urlparse(url).scheme
        if scheme not in ("http", "https"):
            raise DownloadError(
                f"refusing to fetch {scheme or 'a relative'} URL {url[:80]!r}", retryable=False
            )
        written: int = self.policy.tries()(self._fetch_once, url, dest)
        return written

    def _fetch_once(self, url: str, dest: Path) -> int:
        try:
            with self._session().get(url, stream=True, timeout=(10, self.timeout_s)) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"HTTP {response.status_code} fetching {url}",
                        retryable=response.status_code in RETRYABLE_STATUS,
                        status=response.status_code,
                    )
                return _write_atomically(dest, response.iter_content(CHUNK_BYTES))
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as error:
            # ChunkedEncodingError: the connection broke while the body streamed (a file cut short).
            raise DownloadError(f"network error fetching {url}: {error}", retryable=True) from error

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return urllib.parse.unquote_to_bytes(payload)
    except ValueError as error:
        raise DownloadError(f"invalid data URL: {error}", retryable=False) from error


def _write_atomically(dest: Path, chunks: Iterable[bytes]) -> int:
    part = dest.with_name(dest.name + ".part")
    size = 0
    try:
        with open(part, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
    except BaseException:
        part.unlink(missing_ok=True)  # a file cut short is never left behind
        raise
    # No fsync: the journal and results.csv are flushed, not synced, so syncing files alone would buy
    # nothing against power loss; against a crash of the runner the page cache keeps them.
    os.replace(part, dest)
    return size
