"""Images shipped inside the package (public domain / CC0; sources and licences in README.md here).

They let the first command in the README and ``distillsr prune`` without ``--data`` run on a fresh
clone with nothing beside it: :func:`sample_image` is a small ordinary photo to upscale, and
:func:`calibration_folder` six 192x192 crops of real photos (faces, fabric, fur, wood, a steel lattice
at dusk) that the data-aware pruning criteria measure channels on.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent
CALIBRATION_SIDE = 192
"""Side of every calibration crop: one whole LR patch of 96, 64 and 48 px at x2, x3 and x4."""


def sample_image() -> Path:
    """``chelsea-small.png``, 150x100 RGB: the README's first upscale."""
    return SAMPLES / "chelsea-small.png"


def calibration_folder() -> Path:
    """The folder of calibration crops (six 192x192 RGB PNGs)."""
    return SAMPLES / "calibration"
