"""Realistic models for the Replicate emulator, with schemas laid out the way Cog writes them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.replicate_emulator import Emulator, ModelDef, PredictContext

__all__ = [
    "fake_png",
    "install_standard_models",
    "official_image_model",
    "standard_models",
    "unpushed_model",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def prop(name: str, order: int, type_: str, description: str, **extra: Any) -> dict[str, Any]:
    """One input property in Cog's key order: type, title, constraints, x-order, description."""
    title = name.replace("_", " ").title()
    return {"type": type_, "title": title, **extra, "x-order": order, "description": description}


def enum_prop(schema: str, order: int, description: str, default: str) -> dict[str, Any]:
    """An enum input as Cog publishes it: `allOf` around a `$ref`, no inline `enum`, no title."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"allOf": [ref], "default": default, "x-order": order, "description": description}


def enum_schema(name: str, values: list[str]) -> dict[str, Any]:
    """The component an `enum_prop` points at."""
    return {"enum": values, "type": "string", "title": name, "description": "An enumeration."}


def fake_png(prompt: str, seed: int, index: int = 0, scheduler: str = "K_EULER") -> bytes:
    """The deterministic "image" `acme/imagegen` and `acme/mixed` return, so tests can compare."""
    digest = hashlib.sha256(f"{prompt}|{seed}|{index}|{scheduler}".encode()).digest()
    return PNG_SIGNATURE + seed.to_bytes(8, "big", signed=True) + digest * 128


def _seed_for(inputs: dict[str, Any]) -> int:
    # The real models pick a random seed when none is given; a hash keeps tests repeatable.
    if inputs.get("seed") is not None:
        return int(inputs["seed"])
    return int.from_bytes(hashlib.sha256(inputs.get("prompt", "").encode()).digest()[:2], "big")


def _echo(inputs: dict[str, Any], ctx: PredictContext) -> str:
    if inputs["fail"]:
        raise RuntimeError("asked to fail")
    ctx.log(f"echoing {len(inputs['prompt'])} characters x{inputs['repeat']}\n")
    return " ".join([inputs["prompt"]] * inputs["repeat"])


def _llm(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    # Token-like chunks: the first word, then " word" for each next one, so "".join() == prompt.
    words = inputs["prompt"].split(" ")
    chunks = [words[0], *(f" {w}" for w in words[1:])]
    return chunks[: inputs["max_tokens"]]


def _imagegen(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    seed, steps = _seed_for(inputs), inputs["num_inference_steps"]
    ctx.log(f"Using seed: {seed}\nPrompt: {inputs['prompt']}\ntxt2img mode\n")
    ctx.log(f"100%|##########| {steps}/{steps} [00:01<00:00, 17.19it/s]\n")
    return [
        ctx.file(fake_png(inputs["prompt"], seed, i, inputs["scheduler"]), f"out-{i}.png")
        for i in range(inputs["num_outputs"])
    ]


def _vision(inputs: dict[str, Any], ctx: PredictContext) -> str:
    data = ctx.read(inputs["image"])
    digest = hashlib.sha256(data).hexdigest()
    return f"{inputs['prompt']} I see {len(data)} bytes with sha256 {digest}."


def _collage(inputs: dict[str, Any], ctx: PredictContext) -> str:
    # One line per image, in the order given, so a test sees which bytes arrived where.
    images = [ctx.read(value) for value in inputs["images"]]
    return "\n".join(f"{len(data)} bytes with sha256 {hashlib.sha256(data).hexdigest()}" for data in images)


def _json(inputs: dict[str, Any], ctx: PredictContext) -> dict[str, Any]:
    text = inputs["text"]
    return {"text": text, "words": len(text.split()), "characters": len(text), "upper": text.upper()}


def _mixed(inputs: dict[str, Any], ctx: PredictContext) -> dict[str, Any]:
    seed = _seed_for(inputs)
    image = ctx.file(fake_png(inputs["prompt"], seed), "image.png")
    return {"caption": f"a picture of {inputs['prompt']}", "image": image}


def standard_models() -> list[ModelDef]:
    """The standard catalogue, fresh: acme/echo, llm, imagegen, vision, json, mixed, collage."""
    echo = ModelDef(
        owner="acme",
        name="echo",
        official=True,
        accepts_version=True,  # like meta/llama-2-70b-chat in 2023: version and model endpoint both work
        description="Echoes the prompt back; the smallest model there is",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "Text to echo back"),
                "repeat": prop(
                    "repeat", 1, "integer", "How many times to say it", default=1, maximum=5, minimum=1
                ),
                "fail": prop("fail", 2, "boolean", "Raise an error instead of answering", default=False),
                "seconds": prop("seconds", 3, "number", "Extra model time to simulate", default=0, minimum=0),
            },
        },
        output_schema={"type": "string"},
        predict=_echo,
        duration_s=lambda inputs: 0.5 + inputs["seconds"],
    )
    llm = ModelDef(
        owner="acme",
        name="llm",
        official=True,
        accepts_version=True,
        description="A language model that streams the words of its prompt back",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "Prompt to send to the model."),
                "system_prompt": prop(
                    "system_prompt",
                    1,
                    "string",
                    "System prompt to send to the model.",
                    default="You are a helpful assistant.",
                ),
                # Integer fields with float bounds, exactly like meta/llama-2-70b-chat's schema.
                "max_tokens": prop(
                    "max_tokens",
                    2,
                    "integer",
                    "Maximum number of tokens to generate",
                    default=128,
                    minimum=1.0,
                ),
                "temperature": prop(
                    "temperature",
                    3,
                    "number",
                    "Adjusts randomness of outputs",
                    default=0.75,
                    maximum=5.0,
                    minimum=0.01,
                ),
            },
        },
        output_schema={
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        },
        predict=_llm,
        duration_s=lambda inputs: 0.2 + 0.05 * min(len(inputs["prompt"].split()), inputs["max_tokens"]),
    )
    imagegen = ModelDef(
        owner="acme",
        name="imagegen",
        description="A text-to-image model shaped like stability-ai/sdxl",
        # Like sdxl: no `required` list, the prompt has a default.
        input_schema={
            "properties": {
                "prompt": prop(
                    "prompt", 0, "string", "Input prompt", default="An astronaut riding a rainbow unicorn"
                ),
                "negative_prompt": prop("negative_prompt", 1, "string", "Input Negative Prompt", default=""),
                "width": prop("width", 2, "integer", "Width of output image", default=768),
                "height": prop("height", 3, "integer", "Height of output image", default=768),
                "num_outputs": prop(
                    "num_outputs",
                    4,
                    "integer",
                    "Number of images to output.",
                    default=1,
                    maximum=4,
                    minimum=1,
                ),
                "scheduler": enum_prop("Scheduler", 5, "scheduler", "K_EULER"),
                "num_inference_steps": prop(
                    "num_inference_steps",
                    6,
                    "integer",
                    "Number of denoising steps",
                    default=25,
                    maximum=500,
                    minimum=1,
                ),
                "guidance_scale": prop(
                    "guidance_scale",
                    7,
                    "number",
                    "Scale for classifier-free guidance",
                    default=7.5,
                    maximum=50,
                    minimum=1,
                ),
                "seed": prop("seed", 8, "integer", "Random seed. Leave blank to randomize the seed"),
            },
        },
        extra_schemas={
            "Scheduler": enum_schema(
                "Scheduler", ["DDIM", "DPMSolverMultistep", "K_EULER", "K_EULER_ANCESTRAL", "PNDM"]
            )
        },
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=_imagegen,
        duration_s=2.0,
        boot_s=0.5,
    )
    vision = ModelDef(
        owner="acme",
        name="vision",
        description="Looks at an image, like yorickvp/llava-13b, and reports what bytes it got",
        input_schema={
            "required": ["image"],
            "properties": {
                "image": prop("image", 0, "string", "Input image", format="uri"),
                "prompt": prop(
                    "prompt", 1, "string", "Prompt to use for text generation", default="Describe this image."
                ),
                "max_tokens": prop(
                    "max_tokens",
                    2,
                    "integer",
                    "Maximum number of tokens to generate",
                    default=1024,
                    minimum=0,
                ),
            },
        },
        output_schema={"type": "string"},
        predict=_vision,
        duration_s=0.5,
    )
    structured = ModelDef(
        owner="acme",
        name="json",
        description="Returns a JSON object about its text",
        input_schema={
            "required": ["text"],
            "properties": {"text": prop("text", 0, "string", "Text to analyse")},
        },
        output_schema={
            "type": "object",
            "required": ["text", "words", "characters", "upper"],
            "properties": {
                "text": {"type": "string", "title": "Text"},
                "words": {"type": "integer", "title": "Words"},
                "characters": {"type": "integer", "title": "Characters"},
                "upper": {"type": "string", "title": "Upper"},
            },
        },
        predict=_json,
        duration_s=0.2,
    )
    mixed = ModelDef(
        owner="acme",
        name="mixed",
        description="Returns a caption and an image file together",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "What to draw"),
                "seed": prop("seed", 1, "integer", "Random seed. Leave blank to randomize the seed"),
            },
        },
        output_schema={
            "type": "object",
            "required": ["caption", "image"],
            "properties": {
                "caption": {"type": "string", "title": "Caption"},
                "image": {"type": "string", "title": "Image", "format": "uri"},
            },
        },
        predict=_mixed,
        duration_s=1.0,
    )
    collage = ModelDef(
        owner="acme",
        name="collage",
        description="Takes several images in one input, like multi-image editing models",
        input_schema={
            "required": ["images"],
            "properties": {
                "images": prop(
                    "images", 0, "array", "Input images", items={"type": "string", "format": "uri"}
                ),
                "prompt": prop("prompt", 1, "string", "What to make of them", default="Combine them."),
            },
        },
        output_schema={"type": "string"},
        predict=_collage,
        duration_s=0.5,
    )
    return [echo, llm, imagegen, vision, structured, mixed, collage]


def _schnell(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    seed, extension = _seed_for(inputs), inputs["output_format"]
    return [
        ctx.file(fake_png(inputs["prompt"], seed, i), f"out-{i}.{extension}")
        for i in range(inputs["num_outputs"])
    ]


def official_image_model() -> ModelDef:
    """`acme/schnell`, an official model shaped like black-forest-labs/flux-schnell.

    It runs only on its model endpoint: a create with its version id answers 422 "Invalid version
    or not permitted", and its predictions report a `dp-` version, not `latest_version.id`.
    Not in the standard catalogue; install it with `emu.add_model(official_image_model())`.
    """
    return ModelDef(
        owner="acme",
        name="schnell",
        official=True,
        description="The fastest image generation model, shaped like black-forest-labs/flux-schnell",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "Prompt for generated image"),
                "num_outputs": prop(
                    "num_outputs",
                    1,
                    "integer",
                    "Number of outputs to generate",
                    default=1,
                    maximum=4,
                    minimum=1,
                ),
                "seed": prop("seed", 2, "integer", "Random seed. Set for reproducible generation"),
                "output_format": enum_prop("output_format", 3, "Format of the output images", "webp"),
            },
        },
        extra_schemas={"output_format": enum_schema("output_format", ["webp", "jpg", "png"])},
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=_schnell,
        duration_s=1.0,
    )


def unpushed_model(owner: str = "mattt", name: str = "empty") -> ModelDef:
    """A model that exists but was never pushed, like the recorded `mattt/empty`.

    Its GET answers `latest_version: null`; creates on its model endpoint answer 404.
    """

    def never_runs(inputs: dict[str, Any], ctx: PredictContext) -> None:
        raise AssertionError(f"{owner}/{name} has no version, so nothing can run it")

    return ModelDef(
        owner=owner,
        name=name,
        input_schema={"properties": {}},
        output_schema={},
        predict=never_runs,
        pushed=False,
    )


def install_standard_models(emu: Emulator) -> dict[str, ModelDef]:
    """Add the standard catalogue to `emu`; returns the definitions by `owner/name`."""
    return {model.ref: emu.add_model(model) for model in standard_models()}


def painter_model(duration_s: Callable[[dict[str, Any]], float]) -> ModelDef:
    """`acme/painter`: a prompt (and seed) in, two PNG files out, taking `duration_s(input)` model seconds."""
    return ModelDef(
        owner="acme",
        name="painter",
        input_schema={
            "required": ["prompt"],
            "properties": {"prompt": {"type": "string"}, "seed": {"type": "integer", "default": 0}},
        },
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=lambda inputs, ctx: [
            ctx.file(fake_png(inputs["prompt"], inputs["seed"], i), f"out-{i}.png") for i in range(2)
        ],
        duration_s=duration_s,
    )
