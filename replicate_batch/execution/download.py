"""Fetch output files to disk as they finish, streamed, before the server deletes them.

Downloads trust the certificates and take the proxy the API client does (network.py): behind a proxy
that inspects TLS, a prediction the API could pay for must not lose its files. A certificate that is
not trusted is not retried: it will not be trusted a second later.
"""

from __future__ import annotations

import base64
import os
import re
import ssl
import threading
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..backends.network import UNTRUSTED_HINT, proxy_for, tls_context
from ..errors import DownloadError
from .retry import RetryPolicy

CHUNK_BYTES = 256 * 1024
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
# OpenSSL's words for a certificate not trusted, expired or for another host, and why.
_UNTRUSTED = re.compile(r"certificate verify failed: ([^(')]+)", re.IGNORECASE)


class _TrustingAdapter(HTTPAdapter):
    """An adapter whose connections (direct or through a proxy) verify with one given SSL context."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        """The pools for direct connections, with the context."""
        super().init_poolmanager(connections, maxsize, block, ssl_context=self._context, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        """The pools for connections through `proxy`, with the context."""
        return super().proxy_manager_for(proxy, ssl_context=self._context, **kwargs)


class Downloader:
    """Writes http(s) and data URLs to files; one keep-alive session per thread."""

    def __init__(self, policy: RetryPolicy, timeout_s: float = 60.0) -> None:
        self.policy = policy
        self.timeout_s = timeout_s
        self._context = tls_context()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Certificates and proxies come from network.py, as the API client's do; not from
            # requests' own reading of the environment (nor ~/.netrc credentials sent to file hosts).
            session.trust_env = False
            session.mount("https://", _TrustingAdapter(self._context))
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
        proxy = proxy_for(url)
        proxies = {urllib.parse.urlparse(url).scheme: proxy} if proxy else None
        try:
            with self._session().get(
                url, stream=True, timeout=(10, self.timeout_s), proxies=proxies
            ) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"HTTP {response.status_code} fetching {url}",
                        retryable=response.status_code in RETRYABLE_STATUS,
                        status=response.status_code,
                    )
                return _write_atomically(dest, response.iter_content(CHUNK_BYTES))
        except requests.exceptions.SSLError as error:
            untrusted = _UNTRUSTED.search(str(error))
            if untrusted:
                host = urllib.parse.urlparse(url).netloc
                raise DownloadError(
                    f"certificate of {host} not trusted ({untrusted[1].strip()}) fetching {url}; "
                    + UNTRUSTED_HINT,
                    retryable=False,
                ) from error
            raise DownloadError(f"TLS error fetching {url}: {error}", retryable=True) from error
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
