"""Image folders the data tests share, written with Pillow (not the code under test)."""

from __future__ import annotations

import numpy as np
import pytest
from support.downloads import download_payload
from support.images import save_image, smooth_image


@pytest.fixture
def hr_images(rng):
    return {name: rng.integers(0, 256, (26, 30, 3), dtype=np.uint8) for name in ("a", "b", "c")}


@pytest.fixture
def hr_folder(tmp_path, rng):
    folder = tmp_path / "HR"
    for i, (h, w) in enumerate([(70, 90), (64, 66), (81, 77)]):
        save_image(folder / f"img{i}.png", smooth_image(rng, h, w))
    return folder


@pytest.fixture
def paired_folders(tmp_path, rng):
    """LR images with unique pixels; HR = nearest upscale, so an aligned HR patch is LR repeated."""
    scale = 3
    for i, (h, w) in enumerate([(20, 24), (17, 30)]):
        lr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        hr = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
        save_image(tmp_path / "HR" / f"p{i}.png", hr)
        save_image(tmp_path / "LR" / f"p{i}x{scale}.png", lr)
    return tmp_path / "HR", tmp_path / "LR", scale


@pytest.fixture
def payload() -> bytes:
    """The bytes a fake server hands out in the download tests."""
    return download_payload()
