from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulated import emulated
from tests.replicate_emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator with the standard models; REPLICATE_API_TOKEN and REPLICATE_BASE_URL point at it."""
    with emulated() as emulator:
        yield emulator
