"""Emulator stand-ins for the Replicate models `configs/replicate-examples.yaml` names.

Their schemas list inputs the real models take (those the config uses among them), laid out as Cog
writes them; what they compute is the emulator's. Enough for `--dry-run` (refs, versions, schemas)
and for a run against the emulator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.emulator_models import official_image_model, prop
from tests.judge_models import grade
from tests.replicate_emulator import ModelDef, PredictContext

LLAVA_VERSION = "a0fdc44e4f2e1f20f2bb4e27846899953ac8e66c5886c5878fa1d6b73ce009e5"
TOKENS_OUT = {"type": "array", "items": {"type": "string"}, "x-cog-array-type": "iterator"}


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [words[0], *(f" {word}" for word in words[1:])]


def _answer(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    return _words(f"You asked: {inputs['prompt']}")


def _judge(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    # A judge prompt with a `Reference:` line is graded like the bundled judge; with `Request:`, an
    # answer with words in it is taken as doing what was asked.
    prompt = inputs["prompt"]
    if "Reference:" in prompt:
        return _words(grade(prompt))[: inputs["max_tokens"]]
    answer = prompt.partition("Answer:")[2].partition("\n")[0]
    return ["A" if answer.strip() else "B"]


def _language_model(owner: str, name: str, max_tokens: str, predict: Any, **extra: Any) -> ModelDef:
    return ModelDef(
        owner=owner,
        name=name,
        official=True,
        input_schema={
            "properties": {
                "prompt": prop("prompt", 0, "string", "Prompt", default=""),
                "system_prompt": prop("system_prompt", 1, "string", "System prompt", default=""),
                max_tokens: prop(max_tokens, 2, "integer", "Maximum tokens to generate", default=512),
                "temperature": prop("temperature", 3, "number", "Randomness", default=0.6, minimum=0),
                "top_p": prop("top_p", 4, "number", "Nucleus sampling", default=0.9, minimum=0, maximum=1),
            },
        },
        output_schema={**TOKENS_OUT, "x-cog-array-display": "concatenate"},
        predict=predict,
        duration_s=0.5,
        **extra,
    )


def replicate_example_models() -> list[ModelDef]:
    """flux-schnell, llava-13b (at the pinned version), mixtral-8x7b-instruct and llama-3-70b-instruct."""
    flux = dataclasses.replace(
        official_image_model(), owner="black-forest-labs", name="flux-schnell", version_id=None
    )
    llava = ModelDef(
        owner="yorickvp",
        name="llava-13b",
        version_id=LLAVA_VERSION,
        input_schema={
            "required": ["image", "prompt"],
            "properties": {
                "image": prop("image", 0, "string", "Input image", format="uri"),
                "prompt": prop("prompt", 1, "string", "Prompt to use for text generation"),
                "top_p": prop("top_p", 2, "number", "Nucleus sampling", default=1, minimum=0, maximum=1),
                "temperature": prop("temperature", 3, "number", "Randomness", default=0.2, minimum=0),
                "max_tokens": prop("max_tokens", 4, "integer", "Maximum tokens", default=1024, minimum=0),
            },
        },
        output_schema=TOKENS_OUT,
        predict=lambda inputs, ctx: _words(f"I see a picture. {inputs['prompt']}"),
        duration_s=0.5,
    )
    mixtral = _language_model("mistralai", "mixtral-8x7b-instruct-v0.1", "max_new_tokens", _answer)
    llama = _language_model("meta", "meta-llama-3-70b-instruct", "max_tokens", _judge)
    return [flux, llava, mixtral, llama]
