"""Test model that fails on request: succeed, raise, crash the worker, or sleep.

Every mode first waits `sleep_s` seconds in 0.05 s steps, so a cancellation (which coglet delivers
between Python bytecodes) takes effect within one step.
"""

import os
import time

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load."""

    def run(
        self,
        prompt: str = Input(description="Echoed back on success"),
        mode: str = Input(
            description="ok: echo; raise: ValueError; crash: os._exit(3); sleep: echo, slept",
            choices=["ok", "raise", "crash", "sleep"],
            default="ok",
        ),
        sleep_s: float = Input(description="Seconds to wait before acting", default=0.0, ge=0),
    ) -> str:
        """Act out `mode` after waiting `sleep_s` seconds."""
        print(f"flaky: mode={mode} sleep_s={sleep_s}")
        deadline = time.monotonic() + sleep_s
        while time.monotonic() < deadline:
            time.sleep(0.05)
        if mode == "raise":
            raise ValueError("asked to fail")
        if mode == "crash":
            os._exit(3)
        if mode == "sleep":
            return f"slept {sleep_s:g} s: {prompt}"
        return f"ok: {prompt}"
