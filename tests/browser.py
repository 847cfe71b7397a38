"""Debian's `chromium`, driven by Playwright, as the report tests and `benchmarks/report_open.py` open it."""

from __future__ import annotations

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
