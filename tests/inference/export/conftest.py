"""Shared fixtures of the export tests: small versions of every zoo model, crops of the real photo.

The photo and the one export several tests read (``photo``, ``exported_ddistill``) are in
tests/inference/conftest.py, shared with the ONNX backend's tests; the small models are
:data:`support.SMALL_ZOO_KWARGS`. Every test that exports needs onnx and onnxruntime; each such
module skips as a whole without them (``pip install "distillsr[onnx]"``), so the suite passes
without the extra.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from support.models import (
    SMALL_ZOO_KWARGS,
    perturb_batchnorm_statistics,
    small_zoo_model,
)

from distillsr.models.sr_model import SRModel

TOLERANCE = 1e-4


@pytest.fixture(scope="session")
def small_table() -> dict[str, dict]:
    return SMALL_ZOO_KWARGS


@pytest.fixture(params=sorted(SMALL_ZOO_KWARGS))
def family(request) -> str:
    """Each small zoo family in turn."""
    return request.param


@pytest.fixture(scope="session")
def small_model() -> Callable[..., SRModel]:
    """``small_model(name, scale=2)``: a seeded small zoo model."""
    return small_zoo_model


@pytest.fixture(scope="session")
def perturb_batchnorms() -> Callable[[SRModel], SRModel]:
    return perturb_batchnorm_statistics


@pytest.fixture(scope="session")
def tolerance() -> float:
    return TOLERANCE


def photo_tensor(photo: np.ndarray, height: int, width: int, top: int = 0, left: int = 0) -> torch.Tensor:
    crop = photo[top : top + height, left : left + width].astype(np.float32) / 255
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]


@pytest.fixture(scope="session")
def crop_tensor() -> Callable[..., torch.Tensor]:
    """``crop_tensor(photo, height, width, top=0, left=0)``: a crop as a (1, 3, H, W) tensor."""
    return photo_tensor
