"""Test model whose setup() always fails: the server must report SETUP_FAILED."""

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Fail the way a model with missing weights does."""
        raise RuntimeError("weights missing")

    def run(self, prompt: str = Input(description="Never used")) -> str:
        """Unreachable: setup() never succeeds."""
        return prompt
