"""A tiny slimmable EDSR-baseline, briefly trained, and a calibration folder of varied difficulty.

Shared by the dynamic-inference tests here and ``tests/commands/test_calibrate.py``. The model is
trained for a few seconds (all widths jointly, as CSD's teacher and students share weights) so
that narrower widths are measurably worse, as with real CSD weights; random weights would make
PSNR per width arbitrary.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.imaging.resize import imresize
from distillsr.models.sr_model import SRModel
from distillsr.models.zoo import build_model
from distillsr.nn.slimmable import width

SCALE = 2
KWARGS = {"num_blocks": 2, "channels": 16}
WIDTHS = (0.25, 0.5, 0.75, 1.0)


def photo(height: int, width_: int, top: int = 0, left: int = 0) -> np.ndarray:
    """A crop of scikit-image's astronaut (a real photograph)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[top : top + height, left : left + width_])


def synthetic_images(seed: int = 0) -> dict[str, np.ndarray]:
    """HR images from trivially easy (flat) to hard (noise), of several sizes (all even)."""
    rng = np.random.default_rng(seed)
    images: dict[str, np.ndarray] = {}
    for i, (h, w) in enumerate([(48, 48), (64, 48), (56, 72)]):
        images[f"flat{i}"] = np.full((h, w, 3), rng.integers(20, 230, 3), np.uint8)
    for i, (h, w) in enumerate([(64, 64), (48, 80), (72, 56)]):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        ramp = np.stack([yy / h, xx / w, (yy + xx) / (h + w)], -1) * (120 + 40 * i) + 40
        images[f"gradient{i}"] = ramp.round().astype(np.uint8)
    for i, period in enumerate([24.0, 10.0, 5.0]):
        yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
        wave = 128 + 90 * np.sin(2 * np.pi * (xx + 0.5 * yy) / period)
        images[f"waves{i}"] = np.repeat(wave.round().astype(np.uint8)[..., None], 3, axis=2)
    for i, (top, left) in enumerate([(0, 0), (200, 240), (300, 100), (100, 300)]):
        images[f"photo{i}"] = photo(64 + 8 * i, 64, top, left)
    for i, amplitude in enumerate([20, 60, 127]):
        noise = 128 + rng.integers(-amplitude, amplitude + 1, (48 + 8 * i, 56, 3))
        images[f"noise{i}"] = noise.clip(0, 255).astype(np.uint8)
    return images


def write_folder(folder: Path, images: dict[str, np.ndarray]) -> Path:
    """Write ``images`` as PNG files with Pillow (independently of distillsr's writer)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in images.items():
        Image.fromarray(array).save(folder / f"{name}.png")
    return folder


@lru_cache(maxsize=1)
def trained_tiny(steps: int = 200, seed: int = 0) -> SRModel:
    """The tiny slimmable EDSR-baseline x2, trained briefly at every width on bicubic pairs.

    Cached: one training per test process (about 6 s on one core). Callers must not change its weights.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest, and the machine is shared
    try:
        return _train(steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train(steps: int, seed: int) -> SRModel:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model("edsr-baseline", SCALE, **KWARGS)
    sources = [photo(256, 256, 0, 0), photo(256, 256, 256, 256), *synthetic_images(seed + 1).values()]
    pairs = []
    for hr in sources:
        h, w = hr.shape[0] // SCALE * SCALE, hr.shape[1] // SCALE * SCALE
        hr = hr[:h, :w]
        pairs.append((imresize(hr, 1 / SCALE), hr))
    optimiser = torch.optim.Adam(model.network.parameters(), lr=2e-3)
    model.network.train()
    patch = 16
    for _ in range(steps):
        lrs, hrs = [], []
        for index in rng.integers(0, len(pairs), 8):
            lr, hr = pairs[index]
            top = rng.integers(0, lr.shape[0] - patch + 1)
            left = rng.integers(0, lr.shape[1] - patch + 1)
            lrs.append(lr[top : top + patch, left : left + patch])
            hrs.append(hr[top * SCALE : (top + patch) * SCALE, left * SCALE : (left + patch) * SCALE])
        x = torch.from_numpy(np.stack(lrs)).permute(0, 3, 1, 2).float() / 255
        y = torch.from_numpy(np.stack(hrs)).permute(0, 3, 1, 2).float() / 255
        loss = 0.0
        for value in WIDTHS:
            with width(model.network, value):
                loss = loss + (model(x) - y).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def save_tiny(model: SRModel, path: Path) -> Path:
    """Save ``model`` as a distillsr checkpoint (no dynamic policy yet)."""
    info = CheckpointInfo(model="edsr-baseline", scale=SCALE, kwargs=dict(KWARGS), input_range=model.input_range,
                          provenance={"recipe": "tests: tiny slimmable EDSR"})
    save_checkpoint(path, model.network.state_dict(), info)
    return path
