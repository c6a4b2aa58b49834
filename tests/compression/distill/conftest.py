"""Shared pieces of the distillation tests: T91-like photo patches, tiny teachers saved as checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.models.zoo import build_model

SCALE = 4
TINY_TEACHER = dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=2)  # dipnet kwargs
TINY_STUDENT = dict(channels=8, mid_channels=8, esa_channels=8, num_blocks=2)  # dipnet kwargs
TINY_RFDN = dict(channels=8, num_blocks=2)  # e-rfdn kwargs: a 0-255 student


def photo_crops(side: int = 96) -> torch.Tensor:
    """Six real-photo crops in [0, 1], T91-sized: scikit-image's bundled photographs."""
    from skimage import data

    crops = []
    for picture in (data.astronaut(), data.coffee(), data.chelsea()):
        for top, left in ((40, 60), (150, 200)):
            crops.append(np.ascontiguousarray(picture[top : top + side, left : left + side, :3]))
    return torch.from_numpy(np.stack(crops).astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()


class PatchStream:
    """Random (LR, HR) patch batches; batch ``i`` depends only on ``i``, so a position is a resume point."""

    def __init__(self, photos: torch.Tensor, *, lr_patch: int = 16, batch: int = 4) -> None:
        self.photos, self.lr_patch, self.batch = photos, lr_patch, batch
        self.position = 0

    def state_dict(self) -> dict:
        return {"position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.position = state["position"]

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        generator = torch.Generator().manual_seed(5000 + self.position)
        self.position += 1
        hr_side = self.lr_patch * SCALE
        patches = []
        for _ in range(self.batch):
            index = int(torch.randint(len(self.photos), (1,), generator=generator))
            top, left = (int(v) for v in torch.randint(self.photos.shape[-1] - hr_side + 1, (2,), generator=generator))
            patch = self.photos[index, :, top : top + hr_side, left : left + hr_side]
            if bool(torch.rand(1, generator=generator) < 0.5):
                patch = patch.flip(-1)
            patches.append(patch)
        hr = torch.stack(patches)
        lr = F.interpolate(hr, scale_factor=1 / SCALE, mode="bicubic", antialias=True, align_corners=False)
        return {"lr": lr.clamp(0, 1), "hr": hr}


def save_tiny_model(path: Path, name: str, scale: int, kwargs: dict, *, seed: int = 7) -> Path:
    """A seeded zoo model written as a distillsr checkpoint (what a trained teacher file looks like)."""
    torch.manual_seed(seed)
    model = build_model(name, scale, **kwargs)
    info = CheckpointInfo(model=name, scale=scale, kwargs=kwargs, input_range=model.input_range, form="deploy")
    save_checkpoint(path, model.network.state_dict(), info)
    return path


def tiny_model(name: str = "dipnet", scale: int = SCALE, *, seed: int = 0):
    """A seeded tiny zoo model (an SRModel): DIPNet 8/8 ch, or the 0-255 E-RFDN at 8 ch."""
    torch.manual_seed(seed)
    return build_model(name, scale, **(TINY_RFDN if name == "e-rfdn" else TINY_STUDENT))


@pytest.fixture(scope="session")
def photos() -> torch.Tensor:
    """Six 96x96 real-photo crops in [0, 1]."""
    return photo_crops()


@pytest.fixture
def patches(photos):
    """``patches(lr_patch=16, batch=4)``: a fresh :class:`PatchStream` over the photo crops."""
    return lambda lr_patch=16, batch=4: PatchStream(photos, lr_patch=lr_patch, batch=batch)


@pytest.fixture
def tiny_teacher_file(tmp_path) -> Path:
    """A tiny x4 DIPNet (16/12 ch, 2 blocks) with seeded random weights, as a checkpoint."""
    return save_tiny_model(tmp_path / "teacher.safetensors", "dipnet", SCALE, TINY_TEACHER)


@pytest.fixture
def save_model(tmp_path):
    """``save_model(name, scale, kwargs, seed=7)``: a seeded zoo model saved as a checkpoint; its path."""
    def save(name: str, scale: int, kwargs: dict, seed: int = 7) -> Path:
        return save_tiny_model(tmp_path / f"{name}_x{scale}_{seed}.safetensors", name, scale, kwargs, seed=seed)

    return save


@pytest.fixture
def student():
    """``student(name="dipnet", scale=4, seed=0)``: a seeded tiny student (an SRModel)."""
    return tiny_model
