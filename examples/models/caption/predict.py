"""Example Cog model: describe an image from its pixel statistics.

It measures the picture (size, mode, mean colour, the colour most pixels are nearest to, the
brightest quadrant) and writes that up as a sentence. It recognises nothing in the picture: it is
a stand-in for a captioning model, so a batch run has something fast and deterministic to call.
"""

import colorsys

from cog import BaseRunner, Input, Path
from PIL import Image, ImageStat

QUADRANTS = ("top-left", "top-right", "bottom-left", "bottom-right")


def colour_name(rgb: tuple[float, float, float]) -> str:
    """A plain English name for an RGB colour (0-255 channels)."""
    hue, light, sat = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    if sat < 0.2 or light > 0.92 or light < 0.08:
        if light > 0.8:
            return "white"
        if light > 0.55:
            return "light grey"
        if light > 0.3:
            return "grey"
        return "black"
    degrees = hue * 360
    for limit, name in (
        (15, "red"),
        (45, "orange"),
        (70, "yellow"),
        (160, "green"),
        (200, "cyan"),
        (255, "blue"),
        (290, "purple"),
        (335, "pink"),
    ):
        if degrees < limit:
            return name
    return "red"


def hex_colour(rgb: tuple[float, float, float]) -> str:
    """`#rrggbb` for an RGB colour with float channels."""
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load: the "model" is arithmetic."""

    def run(
        self,
        image: Path = Input(description="Image to describe (PNG, JPEG, ...)"),
        prompt: str = Input(description="Optional question; echoed in the answer", default=""),
        detail: str = Input(
            description="short: one sentence; full: also per-quadrant colours and spread",
            choices=["short", "full"],
            default="short",
        ),
    ) -> str:
        """Describe `image` in one sentence (short) or a small paragraph (full)."""
        with Image.open(image) as opened:
            file_format = opened.format or "unknown"
            mode = opened.mode
            rgb = opened.convert("RGB")
        width, height = rgb.size
        stat = ImageStat.Stat(rgb)
        mean = (stat.mean[0], stat.mean[1], stat.mean[2])

        thumbnail = rgb.resize((32, 32), Image.Resampling.BOX).tobytes()
        counts: dict[str, int] = {}
        for pixel in zip(thumbnail[0::3], thumbnail[1::3], thumbnail[2::3], strict=True):
            name = colour_name(pixel)
            counts[name] = counts.get(name, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        dominant = ranked[0][0]

        boxes = (
            (0, 0, width // 2, height // 2),
            (width // 2, 0, width, height // 2),
            (0, height // 2, width // 2, height),
            (width // 2, height // 2, width, height),
        )
        quadrant_means = [ImageStat.Stat(rgb.crop(box)).mean for box in boxes]
        quadrant_light = [ImageStat.Stat(rgb.crop(box).convert("L")).mean[0] for box in boxes]
        brightest = QUADRANTS[max(range(4), key=lambda i: (quadrant_light[i], -i))]

        text = (
            f"A {width}x{height} {mode} {file_format} image, mostly {dominant} "
            f"(mean colour {hex_colour(mean)}), brightest in the {brightest} quadrant."
        )
        if detail == "full":
            shares = ", ".join(f"{name} {100 * n / 1024:.0f}%" for name, n in ranked[:3])
            quads = ", ".join(
                f"{q} {hex_colour((m[0], m[1], m[2]))}"
                for q, m in zip(QUADRANTS, quadrant_means, strict=True)
            )
            spread = sum(stat.stddev) / 3
            text += f" Colours: {shares}. Quadrants: {quads}. Contrast (mean channel std dev): {spread:.1f}."
        if prompt.strip():
            text = f'You asked: "{prompt.strip()}". {text}'
        return text
