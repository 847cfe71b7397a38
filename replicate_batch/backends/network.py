"""What HTTPS connections trust and which proxy they take: one answer for the API client and downloads.

Behind a proxy that inspects TLS, the API client and the file downloads must trust the same
certificates, or the predictions are paid for and every file is lost. Both read it here from the
environment: `SSL_CERT_FILE`, `SSL_CERT_DIR` and `REQUESTS_CA_BUNDLE` (all that are set, else
certifi's bundle, the clients' own default), and `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (decided
as `requests` decides).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import certifi
import requests.utils

from ..errors import Problem

CERT_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
UNTRUSTED_HINT = (
    "if a proxy or firewall inspects TLS here, export SSL_CERT_FILE (or REQUESTS_CA_BUNDLE) "
    "as the path of a CA bundle that includes its certificate"
)


def tls_context() -> ssl.SSLContext:
    """A new context trusting what the environment says (each client gets its own: they change it)."""
    places = {name: os.environ.get(name, "") for name in CERT_VARIABLES}
    if not any(places.values()):
        return ssl.create_default_context(cafile=certifi.where())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks certificates and host names; trusts none yet
    for place in places.values():
        if os.path.isdir(place):  # SSL_CERT_DIR, or a REQUESTS_CA_BUNDLE that names a folder
            context.load_verify_locations(capath=place)
        elif place:
            context.load_verify_locations(cafile=place)
    return context


def proxy_for(url: str) -> str | None:
    """The proxy a request to `url` goes through (`HTTPS_PROXY` and the like, unless `NO_PROXY`)."""
    proxy: str | None = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
    return proxy


def environment_problems() -> list[Problem]:
    """Certificate variables that name nothing usable: said before anything is created."""
    problems = []
    for name in CERT_VARIABLES:
        value = os.environ.get(name, "")
        if not value:
            continue
        path = Path(value)
        if name == "SSL_CERT_DIR":
            usable, kind = path.is_dir(), "folder"
        elif name == "SSL_CERT_FILE":
            usable, kind = path.is_file(), "file"
        else:  # requests takes either
            usable, kind = path.is_file() or path.is_dir(), "file or folder"
        if not usable:
            problems.append(Problem("environment", name, f"{value}: no such {kind} of CA certificates"))
    if not problems:
        try:
            tls_context()
        except (OSError, ssl.SSLError) as error:
            names = " / ".join(n for n in CERT_VARIABLES if os.environ.get(n))
            problems.append(Problem("environment", names, f"not a usable CA bundle: {error}"))
    return problems
