"""Test model whose setup() takes a second: health stays STARTING until it is done."""

import time

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Pretend to load weights."""
        time.sleep(1.0)
        self.ready_at = time.time()

    def run(self, prompt: str = Input(description="Echoed back")) -> str:
        """Echo the prompt."""
        return f"ready: {prompt}"
