"""A language model for the emulator that grades answers the way the bundled Cog judge does.

`acme/grader` streams its reply like Replicate's language models. It reads the `Reference:` and
`Answer:` lines of its prompt and replies `A` (every reference word is in the answer) or `B`; a
prompt that asks for a score (`Score`) gets `Score: N/10`; one that asks for JSON gets
`{"score": share, "correct": bool}`; anything else gets a sentence with no grade in it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.emulator_models import prop
from tests.replicate_emulator import ModelDef, PredictContext

WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(word.casefold() for word in WORD.findall(text)))


def grade(prompt: str) -> str:
    """The grader's whole reply to a prompt."""
    lines = {}
    for line in prompt.splitlines():
        for label in ("Reference:", "Answer:"):
            if label not in lines and line.strip().startswith(label):
                lines[label] = line.strip()[len(label) :]
    if len(lines) < 2:
        return "I cannot grade this."
    reference = _words(lines["Reference:"])
    answer = set(_words(lines["Answer:"]))
    share = sum(word in answer for word in reference) / max(len(reference), 1)
    if "JSON" in prompt:
        return json.dumps({"score": round(share, 2), "correct": share == 1})
    if "Score" in prompt:
        return f"Score: {round(share * 10)}/10"
    return "A" if share == 1 else "B"


def _stream(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    reply = grade(inputs["prompt"])
    words = reply.split(" ")
    return [words[0], *(f" {word}" for word in words[1:])][: inputs["max_tokens"]]


def grader_model(duration_s: float = 0.3) -> ModelDef:
    """`acme/grader`: a language model that grades answers."""
    return ModelDef(
        owner="acme",
        name="grader",
        description="A language model that grades an answer against a reference",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "Prompt to send to the model."),
                "max_tokens": prop("max_tokens", 1, "integer", "Maximum tokens", default=64, minimum=1),
                "temperature": prop("temperature", 2, "number", "Randomness", default=0.7, minimum=0),
            },
        },
        output_schema={
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        },
        predict=_stream,
        duration_s=duration_s,
    )
