"""Example Cog model: draw abstract PNG patterns from a prompt and a seed.

A stand-in for an image generator. The prompt picks the palette (colour words such as "sunset",
"ocean" or "red" are honoured, other words hash to colours) and the seed picks the layout: a
gradient, stripes, circles or a checkerboard. The same prompt, seed and size always give the
same pixels.
"""

import atexit
import hashlib
import random
import shutil
import tempfile

from cog import BaseRunner, Input, Path
from PIL import Image, ImageDraw

Colour = tuple[int, int, int]

NAMED_COLOURS: dict[str, Colour] = {
    "red": (214, 48, 49),
    "orange": (240, 140, 40),
    "yellow": (250, 215, 70),
    "green": (60, 170, 90),
    "blue": (40, 100, 210),
    "purple": (130, 70, 180),
    "pink": (240, 120, 170),
    "white": (245, 245, 245),
    "black": (25, 25, 30),
    "grey": (128, 128, 128),
    "sunset": (250, 120, 60),
    "ocean": (20, 90, 150),
    "sea": (30, 120, 170),
    "sky": (130, 190, 240),
    "sand": (230, 205, 150),
    "forest": (30, 100, 50),
    "night": (20, 25, 60),
}
STYLES = ("gradient", "stripes", "circles", "checkers")


def palette(prompt: str) -> list[Colour]:
    """Three or more colours: named colour words first, then colours hashed from the prompt."""
    words = [w.strip(".,!?;:'\"").lower() for w in prompt.split()]
    colours = [NAMED_COLOURS[w] for w in words if w in NAMED_COLOURS]
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    colours += [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 9, 3)]
    return colours


def draw(style: str, size: tuple[int, int], palette: list[Colour], rng: random.Random) -> Image.Image:
    """One image in `style`, with colours from `palette` and every other choice from `rng`."""
    width, height = size
    colours = rng.sample(palette, len(palette))
    image = Image.new("RGB", size, colours[0])
    pen = ImageDraw.Draw(image)
    if style == "gradient":
        start, end = colours[0], colours[1]
        vertical = rng.random() < 0.5
        steps = height if vertical else width
        for i in range(steps):
            t = i / max(steps - 1, 1)
            mixed = tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
            pen.line((0, i, width, i) if vertical else (i, 0, i, height), fill=mixed)
    elif style == "stripes":
        step = rng.randint(4, max(4, width // 4))
        for i, x in enumerate(range(-height, width, step)):
            pen.polygon(
                [(x, 0), (x + step, 0), (x + step + height, height), (x + height, height)],
                fill=colours[i % len(colours)],
            )
    elif style == "circles":
        for i in range(rng.randint(4, 12)):
            r = rng.randint(max(2, min(size) // 10), max(3, min(size) // 3))
            cx, cy = rng.randrange(width), rng.randrange(height)
            pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colours[1 + i % (len(colours) - 1)])
    else:
        cell = rng.randint(4, max(4, min(size) // 4))
        for row, y in enumerate(range(0, height, cell)):
            for col, x in enumerate(range(0, width, cell)):
                if (row + col) % 2:
                    pen.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colours[1])
    return image


class Predictor(BaseRunner):
    def setup(self) -> None:
        """Nothing to load: the "model" is a few drawing rules. One folder holds every run's images."""
        # Cog encodes the returned files before it takes the next prediction (one slot for a sync
        # predictor), so each run may overwrite the last one's images instead of leaving a folder behind.
        self.out_dir = Path(tempfile.mkdtemp(prefix="patterns-"))
        atexit.register(shutil.rmtree, self.out_dir, ignore_errors=True)

    def run(
        self,
        prompt: str = Input(description="What to draw; colour words choose the palette"),
        num_outputs: int = Input(description="Number of images", default=1, ge=1, le=4),
        seed: int = Input(description="Random seed; same seed, same images", default=0),
        width: int = Input(description="Width in pixels", default=64, ge=16, le=512),
        height: int = Input(description="Height in pixels", default=64, ge=16, le=512),
    ) -> list[Path]:
        """Draw `num_outputs` PNG images and return their paths."""
        colours = palette(prompt)
        out_dir = self.out_dir
        paths = []
        for index in range(num_outputs):
            rng = random.Random(f"{prompt}\x00{seed}\x00{index}")
            style = STYLES[rng.randrange(len(STYLES))]
            path = out_dir / f"pattern-{index}.png"
            draw(style, (width, height), colours, rng).save(path)
            print(f"image {index}: {style}")
            paths.append(path)
        return paths
