"""Shared fixtures of the export tests: small versions of every zoo model, a real photo, one export.

Every test here needs onnx and onnxruntime; each module skips as a whole without them
(``pip install "distillsr[onnx]"``), so the suite passes without the extra.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from support import SHARED_DATA, require_shared, shared_is_required

from distillsr.models.sr_model import SRModel
from distillsr.models.zoo import build_model

TOLERANCE = 1e-4
PHOTO_SIZE = 40

# Small versions of every zoo model but bicubic (which is refused).
SMALL = {
    "e-rfdn": dict(channels=16, num_blocks=1),
    "rfdn": dict(channels=16, num_blocks=1),
    "rfdn-l": dict(channels=16, num_blocks=1),
    "imdn": dict(channels=16, num_blocks=1),
    "ddistill-sr": dict(channels=16, num_blocks=1, fusion_rank=4),
    "dipnet": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "edipv1": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "dipnet-student": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1, expansion=32),
    "edsr-baseline": dict(num_blocks=1, channels=16),
    "edsr": dict(num_blocks=1, channels=16),
    "rcan": dict(num_groups=1, num_blocks=1, channels=16, reduction=4),
    "carn": dict(channels=16),
}


def _small_model(name: str, scale: int = 2) -> SRModel:
    torch.manual_seed(0)
    return build_model(name, scale, **SMALL[name])


def _perturb_batchnorms(model: SRModel) -> SRModel:
    """Non-trivial running statistics, so folding them is actually exercised."""
    generator = torch.Generator().manual_seed(1)
    for module in model.network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return model


@pytest.fixture(scope="session")
def small_table() -> dict[str, dict]:
    return SMALL


@pytest.fixture(params=sorted(SMALL))
def family(request) -> str:
    """Each small zoo family in turn."""
    return request.param


@pytest.fixture(scope="session")
def small_model() -> Callable[..., SRModel]:
    """``small_model(name, scale=2)``: a seeded small zoo model."""
    return _small_model


@pytest.fixture(scope="session")
def perturb_batchnorms() -> Callable[[SRModel], SRModel]:
    return _perturb_batchnorms


@pytest.fixture(scope="session")
def tolerance() -> float:
    return TOLERANCE


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 40x40 centre crop of a real photo: Set5 baby, else scikit-image's astronaut.

    Statistics-dependent layers are only exercised realistically by a photo. Under CI
    (``DISTILLSR_REQUIRE_SHARED``) the Set5 image must be there.
    """
    if (SHARED_DATA / "Set5" / "HR" / "baby.png").is_file() or shared_is_required():
        from distillsr.imaging.read import read_image

        image = read_image(require_shared("data", "Set5", "HR", "baby.png"))[..., :3]
    else:
        skdata = pytest.importorskip("skimage.data", reason="no real photo available (neither ../shared nor scikit-image)")
        image = skdata.astronaut()
    top, left = (image.shape[0] - PHOTO_SIZE) // 2, (image.shape[1] - PHOTO_SIZE) // 2
    return np.ascontiguousarray(image[top : top + PHOTO_SIZE, left : left + PHOTO_SIZE])


def photo_tensor(photo: np.ndarray, height: int, width: int, top: int = 0, left: int = 0) -> torch.Tensor:
    crop = photo[top : top + height, left : left + width].astype(np.float32) / 255
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]


@pytest.fixture(scope="session")
def crop_tensor() -> Callable[..., torch.Tensor]:
    """``crop_tensor(photo, height, width, top=0, left=0)``: a crop as a (1, 3, H, W) tensor."""
    return photo_tensor


@pytest.fixture(scope="session")
def exported_ddistill(tmp_path_factory, photo):
    """A train-form DDistill-SR (dynamic branch, DBB with BatchNorms), exported once for several tests."""
    pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
    pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
    from distillsr.inference.export import export_onnx

    model = _perturb_batchnorms(_small_model("ddistill-sr"))
    model.metadata["provenance"] = {"source": "test", "seed": 0}
    path = tmp_path_factory.mktemp("ddistill") / "ddistill.onnx"
    return model, export_onnx(model, path, verify_image=photo, image_source="test photo")
