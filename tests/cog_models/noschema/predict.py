"""Test model shipped without `.cog/openapi_schema.json`: the server accepts any input unchecked."""

from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load."""

    def run(
        self,
        text: str = Input(description="Text to echo"),
        times: int = Input(description="Repetitions", default=1, ge=1),
    ) -> str:
        """Echo `text` `times` times, separated by spaces."""
        return " ".join([text] * times)
