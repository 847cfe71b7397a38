"""Downloads trust what the API client trusts and take the same proxy, against real TLS and real proxies.

A certificate and key are made for this module with the `openssl` command; a real HTTPS server serves
an output file with them, and a real proxy (that inspects TLS, as corporate ones do, or forwards plain
HTTP) stands between the runner and its servers. The runner itself runs unchanged, on the emulator.
"""

from __future__ import annotations

import http.client
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replicate_batch import load_results
from replicate_batch.backends.network import CERT_VARIABLES
from replicate_batch.cli import main
from replicate_batch.errors import SpecError
from tests.emulated import emulated, run_scaled
from tests.emulator_models import prop
from tests.replicate_emulator import ModelDef, PredictContext

PAYLOAD = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
FILES_HOST = "files.example.invalid"  # resolvable by no one: only a proxy can reach it
API_HOST = "api.example.invalid"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, FILES_HOST and API_HOST, and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the `openssl` command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"]
    command += [
        "-subj",
        "/CN=replicate-batch test",
        "-addext",
        f"subjectAltName=IP:127.0.0.1,DNS:{FILES_HOST},DNS:{API_HOST}",
    ]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No certificate or proxy variable set (this machine sets several)."""
    for name in (*CERT_VARIABLES, *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_payload(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)


class _FileHandler(_Quiet):
    def do_GET(self) -> None:
        self.server.gets += 1  # type: ignore[attr-defined]
        self.send_payload()


class FileHost(http.server.ThreadingHTTPServer):
    """An HTTPS server on 127.0.0.1 serving PAYLOAD at every path; counts connections and GETs."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _FileHandler)
        self.context = context
        self.connections = 0
        self.gets = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        raw, address = super().get_request()
        self.connections += 1
        raw.settimeout(5)
        return self.context.wrap_socket(raw, server_side=True), address  # a refused handshake raises here

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}/out.png"


def relay(handler: http.server.BaseHTTPRequestHandler, url: str) -> None:
    """Send the handler's request on to `url` over plain HTTP and pass the answer back."""
    target = http.client.urlsplit(url)
    body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    hop_by_hop = ("proxy-connection", "connection", "transfer-encoding", "content-length")
    upstream = http.client.HTTPConnection(target.netloc, timeout=30)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in hop_by_hop}
    upstream.request(
        handler.command, target.path + (f"?{target.query}" if target.query else ""), body, headers
    )
    answer = upstream.getresponse()
    data = answer.read()
    upstream.close()
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in hop_by_hop:
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class _TunnelHandler(_Quiet):
    """Requests read inside an inspected tunnel: sent on to `upstream`, or answered with PAYLOAD."""

    def answer(self) -> None:
        upstream = self.server.upstream  # type: ignore[attr-defined]
        if upstream is None:
            self.send_payload()
        else:
            relay(self, upstream + self.path)

    do_GET = do_POST = answer


class _ProxyHandler(_Quiet):
    def do_CONNECT(self) -> None:
        """Inspect TLS: answer the tunnel with our own certificate, then read what is sent inside."""
        proxy: Proxy = self.server  # type: ignore[assignment]
        proxy.seen.append(f"CONNECT {self.path}")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        try:
            tls = proxy.context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client did not trust us
        with tls:
            tls.settimeout(10)
            _TunnelHandler(tls, self.client_address, proxy)  # serves the tunnel until the client closes it

    def forward(self) -> None:
        """Plain HTTP, in absolute form: passed on as it is."""
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        relay(self, self.path)

    do_GET = do_POST = forward


class Proxy(http.server.ThreadingHTTPServer):
    """A proxy on 127.0.0.1 that inspects TLS (CONNECT) and forwards plain HTTP; `seen` lists requests."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.context = context
        self.seen: list[str] = []
        self.upstream: str | None = None  # where tunnelled requests go (else PAYLOAD answers them)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def serving(server: http.server.ThreadingHTTPServer) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def file_host(certificate: tuple[Path, Path]) -> Iterator[FileHost]:
    yield from serving(FileHost(server_context(certificate)))


@pytest.fixture
def proxy(certificate: tuple[Path, Path]) -> Iterator[Proxy]:
    yield from serving(Proxy(server_context(certificate)))


def _link(inputs: dict[str, Any], ctx: PredictContext) -> str:
    return str(inputs["url"])


LINKER = ModelDef(
    owner="acme",
    name="linker",
    input_schema={"required": ["url"], "properties": {"url": prop("url", 0, "string", "The output's URL")}},
    output_schema={"type": "string", "format": "uri"},
    predict=_link,
)


def run_linker(tmp_path: Path, url: str) -> Any:
    """One prediction whose output file is at `url`; its results.csv row."""
    spec = {"models": ["acme/linker"], "inputs": [{"id": "one", "url": url}], "retry": {"max_attempts": 4}}
    with emulated(LINKER):
        summary = run_scaled(spec, tmp_path / "runs")
    assert summary.run_dir is not None
    return load_results(summary.run_dir).iloc[0], summary.run_dir


def hashed_folder(cert: Path, folder: Path) -> Path:
    """A folder of CA certificates as SSL_CERT_DIR wants it: named by subject hash."""
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(cert)], check=True, capture_output=True, text=True
    ).stdout.strip()
    folder.mkdir()
    shutil.copy(cert, folder / f"{subject_hash}.0")
    return folder


def test_an_untrusted_certificate_fails_the_download_at_once_naming_the_variable(
    clean_environment: pytest.MonkeyPatch, file_host: FileHost, tmp_path: Path
) -> None:
    row, _ = run_linker(tmp_path, file_host.url)
    assert row.status == "failed" and row.prediction_id  # paid for: its files are what was lost
    assert "could not be downloaded: certificate of 127.0.0.1" in row.error
    assert "not trusted (self-signed certificate)" in row.error and "export SSL_CERT_FILE" in row.error
    assert file_host.connections == 1 and file_host.gets == 0  # not retried


@pytest.mark.parametrize("variable", CERT_VARIABLES)
def test_the_certificate_variables_the_api_client_trusts_are_trusted_by_downloads(
    clean_environment: pytest.MonkeyPatch,
    file_host: FileHost,
    certificate: tuple[Path, Path],
    tmp_path: Path,
    variable: str,
) -> None:
    cert = certificate[0]
    clean_environment.setenv(
        variable, str(hashed_folder(cert, tmp_path / "certs") if variable == "SSL_CERT_DIR" else cert)
    )
    row, run_dir = run_linker(tmp_path, file_host.url)
    assert row.status == "succeeded", row.error
    assert (run_dir / row.files[0]).read_bytes() == PAYLOAD
    assert file_host.gets == 1


def test_behind_a_proxy_that_inspects_tls_downloads_go_through_it_trusting_its_certificate(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    clean_environment.setenv("HTTPS_PROXY", proxy.url)
    url = f"https://{FILES_HOST}/out.png"
    untrusted, _ = run_linker(tmp_path / "first", url)
    assert untrusted.status == "failed" and "export SSL_CERT_FILE" in untrusted.error
    assert proxy.seen == [f"CONNECT {FILES_HOST}:443"]  # once: a certificate error is not retried

    clean_environment.setenv("SSL_CERT_FILE", str(certificate[0]))
    trusted, run_dir = run_linker(tmp_path / "second", url)
    assert trusted.status == "succeeded", trusted.error
    assert (run_dir / trusted.files[0]).read_bytes() == PAYLOAD
    assert proxy.seen == [f"CONNECT {FILES_HOST}:443"] * 2


def test_the_api_client_and_downloads_take_the_proxy_unless_no_proxy_says_not(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, tmp_path: Path
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)
    spec = {
        "models": [{"ref": "acme/imagegen", "input": {"num_outputs": 1}}],
        "inputs": [{"prompt": "a cat"}],
    }
    with emulated() as emu:
        assert run_scaled(spec, tmp_path / "proxied").exit_code == 0
        paths = [line.split(" ", 1)[1].removeprefix(emu.base_url) for line in proxy.seen]
        assert paths[0] == "/v1/models/acme/imagegen" and "/v1/predictions" in paths
        assert any(path.startswith("/delivery/") for path in paths)  # the output file
        assert len(paths) == len(emu.requests)  # every request went through the proxy

        proxy.seen.clear()
        clean_environment.setenv("NO_PROXY", "127.0.0.1")
        assert run_scaled(spec, tmp_path / "direct").exit_code == 0
        assert proxy.seen == []


def test_the_api_behind_a_proxy_that_inspects_tls_trusts_the_same_variables(
    clean_environment: pytest.MonkeyPatch, proxy: Proxy, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    spec = {"models": ["acme/echo"], "inputs": [{"prompt": "hi"}]}
    clean_environment.setenv("HTTPS_PROXY", proxy.url)
    with emulated() as emu:
        clean_environment.setenv("REPLICATE_BASE_URL", f"https://{API_HOST}")
        proxy.upstream = emu.base_url
        with pytest.raises(SpecError) as refused:
            run_scaled(spec, tmp_path / "untrusted")
        message = str(refused.value)
        assert "certificate verify failed" in message and "export SSL_CERT_FILE" in message
        assert emu.requests == []  # nothing reached the API, nothing was created

        clean_environment.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))  # httpx alone ignores this one
        assert run_scaled(spec, tmp_path / "trusted").exit_code == 0
    assert proxy.seen[0] == f"CONNECT {API_HOST}:443" and set(proxy.seen) == {proxy.seen[0]}
    assert [request.endpoint for request in emu.requests] == ["model", "create"]


def test_a_certificate_variable_naming_nothing_is_refused_before_anything_runs(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    clean_environment.setenv("SSL_CERT_FILE", str(missing))
    spec = tmp_path / "spec.yaml"
    spec.write_text("models: [acme/echo]\ninputs: [{prompt: hi}]\n", encoding="utf-8")
    with emulated() as emu:
        assert main([str(spec)]) == 2
        assert emu.requests == []
    err = capsys.readouterr().err
    assert f"error: environment: SSL_CERT_FILE: {missing}: no such file of CA certificates" in err
