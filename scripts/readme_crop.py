"""The before/after crop in README.md: one official Set5 LR image, bicubic vs the built-in x4 vs HR.

    python scripts/readme_crop.py   # writes docs/builtin_x4_crop.png (from the repository root, ../shared beside it)

Bicubic is MATLAB's (the benchmark's own baseline); the built-in model runs as `distillsr upscale` runs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
IMAGE, TOP, LEFT, SIDE = "butterfly", 14, 14, 36  # an LR window with edges and texture


def main() -> None:
    import distillsr
    from distillsr.imaging.read import read_image
    from distillsr.imaging.resize import imresize

    lr = read_image(SHARED / "data" / "Set5" / "LR_bicubic" / "X4" / f"{IMAGE}x4.png")
    hr = read_image(SHARED / "data" / "Set5" / "HR" / f"{IMAGE}.png")
    window = (slice(4 * TOP, 4 * (TOP + SIDE)), slice(4 * LEFT, 4 * (LEFT + SIDE)))
    bicubic = np.clip(np.round(imresize(lr.astype(np.float64), 4.0)), 0, 255).astype(np.uint8)
    ours = distillsr.upscale(lr)
    panels = [bicubic[window], ours[window], hr[window]]
    labels = ["bicubic", "distillsr built-in x4", "ground truth"]
    gap, label_height = 6, 18
    side = 4 * SIDE
    canvas = Image.new("RGB", (3 * side + 2 * gap, side + label_height), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (panel, label) in enumerate(zip(panels, labels)):
        x = index * (side + gap)
        canvas.paste(Image.fromarray(panel), (x, label_height))
        draw.text((x + 2, 3), label, fill="black")
    target = REPO / "docs" / "builtin_x4_crop.png"
    canvas.save(target, optimize=True)
    print(f"{target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
