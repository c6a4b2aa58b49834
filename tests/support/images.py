"""Image helpers: a real photograph, image files written independently of distillsr, a purely local model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

# --- inference ---------------------------------------------------------------------------------


def photo(height: int = 96, width: int = 128) -> np.ndarray:
    """A real photograph (scikit-image's astronaut, halved), so tiling errors look like they would."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::2, ::2][:height, :width])


def photo_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> 1xCxHxW float32 in [0, 1], written independently of distillsr.imaging.tensors."""
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


class LocalConvStack(nn.Module):
    """Five 3x3 convs (receptive-field radius 5) and a pixel shuffle: purely local."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        layers = []
        for i in range(5):
            layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


# --- image files -------------------------------------------------------------------------------


def save_image(path: Path, array: np.ndarray) -> None:
    """Write ``array`` with Pillow (independently of distillsr's writer), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A textured image whose bicubic downscale is not trivially constant."""
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR))
    noise = rng.integers(-20, 21, big.shape)
    return np.clip(big.astype(int) + noise, 0, 255).astype(np.uint8)
