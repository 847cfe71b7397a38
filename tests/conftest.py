from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_chromium
from tests.emulated import emulated
from tests.replicate_emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator with the standard models; REPLICATE_API_TOKEN and REPLICATE_BASE_URL point at it."""
    with emulated() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright, one per test module; skipped where it is not installed."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's `chromium` is not installed here (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_chromium(playwright, executable)
        yield launched
        launched.close()
