"""Debian's `chromium`, driven by Playwright, as the report tests and `benchmarks/report_open.py` open it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Headless, no GPU, and nothing that would reach the network on its own (the page must not either).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any, executable: str) -> Any:
    """A headless Chromium browser from Playwright's sync API."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def opened_page(
    browser: Any, path: Path, *, width: int, height: int, drawn: bool = False
) -> Iterator[tuple[Any, list[str]]]:
    """A page opened from file:// in a fresh context, with every URL it requested; when the caller is done,
    the page must have thrown no error. `drawn`: wait for report.html's grid to be complete first."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    if drawn:
        page.wait_for_selector("body[data-rendered=complete]")
    yield page, requests
    context.close()
    assert errors == []
