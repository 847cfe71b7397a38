"""Draw the example images used by `configs/eval.yaml`: a fridge shelf, a beach and a sunset.

They are simple synthetic drawings (no photos), small enough to commit, and byte-for-byte
reproducible with the same Pillow version: `python examples/data/make_images.py`.
`rows.csv` (next to this script) lists them for `configs/eval.yaml`, so its image paths are
relative to `configs/`; its `_expected` column is the colour the example caption model should name.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = (160, 120)


def draw_fridge() -> Image.Image:
    """An open fridge: white walls, two glass shelves, eggs, a tomato, milk and a lettuce."""
    image = Image.new("RGB", SIZE, (236, 240, 241))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 159, 119), outline=(170, 178, 182), width=4)
    for y in (46, 86):
        draw.rectangle((4, y, 155, y + 3), fill=(200, 220, 226))
    draw.rectangle((14, 12, 34, 45), fill=(250, 250, 250), outline=(120, 140, 200))  # milk
    draw.rectangle((14, 12, 34, 20), fill=(60, 110, 200))
    for x in (48, 62, 76):  # eggs
        draw.ellipse((x, 32, x + 11, 45), fill=(246, 226, 196), outline=(205, 180, 150))
    draw.ellipse((100, 24, 122, 45), fill=(214, 48, 39))  # tomato
    draw.rectangle((109, 20, 113, 25), fill=(40, 140, 60))
    draw.ellipse((24, 58, 66, 86), fill=(96, 170, 72), outline=(60, 120, 50))  # lettuce
    draw.rectangle((96, 64, 140, 85), fill=(250, 210, 80), outline=(200, 160, 40))  # cheese
    draw.rectangle((20, 92, 60, 114), fill=(228, 108, 44))  # carrots box
    return image


def draw_beach() -> Image.Image:
    """Sky, sea and sand, with a sun and a parasol."""
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        if y < 55:  # sky, lighter towards the horizon
            colour = (110 + y, 170 + y, 235)
        elif y < 80:  # sea
            colour = (30, 110 + (y - 55), 170)
        else:  # sand
            colour = (232, 206 - (y - 80) // 2, 150)
        draw.line((0, y, SIZE[0], y), fill=colour)
    draw.ellipse((120, 8, 144, 32), fill=(255, 236, 120))
    draw.line((50, 70, 50, 110), fill=(90, 70, 50), width=2)
    draw.pieslice((26, 58, 74, 86), 180, 360, fill=(220, 60, 70))
    return image


def draw_sunset() -> Image.Image:
    """A pink-to-orange sky, a half sun on the horizon and a dark sea with its reflection."""
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(80):
        t = y / 79
        draw.line((0, y, SIZE[0], y), fill=(int(200 + 55 * t), int(70 + 120 * t), int(110 - 50 * t)))
    draw.pieslice((55, 55, 105, 105), 180, 360, fill=(255, 220, 90))
    draw.rectangle((0, 80, SIZE[0], SIZE[1]), fill=(25, 30, 60))
    for y in range(84, 118, 6):
        draw.line((70 - (y - 80) // 3, y, 90 + (y - 80) // 3, y), fill=(230, 150, 60), width=2)
    return image


def main() -> None:
    """Write fridge.png, beach.jpg and sunset.png next to this script."""
    draw_fridge().save(HERE / "fridge.png", optimize=True)
    draw_beach().save(HERE / "beach.jpg", quality=85)
    draw_sunset().save(HERE / "sunset.png", optimize=True)
    for name in ("fridge.png", "beach.jpg", "sunset.png"):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
