"""Verification: every family matches PyTorch at two sizes; disagreement and unfit images are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support import official_weights
from torch import nn

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.inference.export.verify import (
    second_size,
    verification_batches,
    verification_tensor,
)
from distillsr.models.sr_model import SRModel
from distillsr.models.zoo import ZOO

try:  # the verification itself needs the onnx extra; the batch and image checks do not
    import onnx  # noqa: F401
    import onnxruntime as ort
except ImportError:
    ort = None
needs_onnx = pytest.mark.skipif(ort is None, reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

OFFICIAL = [
    ("rfdn", "RFDN_AIM.pth", "e-rfdn"),
    ("ddistill_sr", "DDistill-SRx4_inference.pth", "ddistill-sr"),
    ("dipnet", "DIPNet.pth", "dipnet"),
]


def _export_onnx():
    from distillsr.inference.export import export_onnx

    return export_onnx


# --- the batches -----------------------------------------------------------------------------------


def test_verification_batches_are_two_sizes_and_two_samples():
    image = torch.arange(40 * 36, dtype=torch.float32).reshape(1, 1, 40, 36)
    whole, crops = verification_batches(image, 15)
    assert whole is image
    assert crops.shape == (2, 1, 30, 24)
    assert torch.equal(crops[0], image[0, :, :30, :24])
    assert torch.equal(crops[1], image[0, :, 10:, 12:].flip(-1)), "bottom right, mirrored: unlike the first"
    assert second_size(16, 15, 15) == (15, 15) and second_size(15, 15, 15) is None and second_size(40, 14, 15) is None


def test_verification_tensor_uses_the_one_conversion():
    from distillsr.imaging.tensors import image_to_tensor

    rgba = np.random.default_rng(0).integers(0, 256, (20, 24, 4), dtype=np.uint8)
    assert torch.equal(verification_tensor(rgba, 3), image_to_tensor(rgba[..., :3], 3))
    grey = rgba[..., 0]
    assert torch.equal(verification_tensor(grey, 3), image_to_tensor(np.dstack([grey] * 3), 3))
    with pytest.raises(DistillsrError, match=r"verification image does not fit this model: .*takes 3 channel\(s\) but the image has 5"):
        verification_tensor(np.zeros((20, 20, 5), np.uint8), 3)
    with pytest.raises(DistillsrError, match=r"verification image .*finite values in \[0, 1\]"):
        verification_tensor(np.full((20, 20, 3), 2.0), 3)


# --- against PyTorch --------------------------------------------------------------------------------


def test_the_small_table_covers_the_zoo(small_table):
    assert set(small_table) == set(ZOO) - {"bicubic"}


@needs_onnx
def test_every_family_exports_and_matches_pytorch(family, small_model, perturb_batchnorms, photo, tolerance, tmp_path):
    model = perturb_batchnorms(small_model(family))
    report = _export_onnx()(model, tmp_path / f"{family}.onnx", verify_image=photo[:32, :32])
    assert report.path.is_file() and report.file_bytes == report.path.stat().st_size
    assert report.verified and len(report.sizes) == 2
    assert len({size[1:] for size in report.sizes}) == 2, "two different spatial sizes"
    assert max(report.max_abs_diff) <= tolerance, report.max_abs_diff
    assert report.opset == 17


class _FrozenStatistic(nn.Module):
    """``.item()`` becomes a constant in the trace: right at the traced size only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0) + 0.01 * x.sum().item()


@needs_onnx
def test_a_graph_that_disagrees_is_not_written(photo, tmp_path):
    model = SRModel(network=_FrozenStatistic(), name="frozen", scale=2)
    target = tmp_path / "frozen.onnx"
    with pytest.raises(DistillsrError, match=r"frozen: ONNX output differs from PyTorch by .* at 1x40x40.*not written"):
        _export_onnx()(model, target, verify_image=photo)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


@needs_onnx
def test_bad_verification_images(small_model, photo, tmp_path):
    """Wrong channels and too small are refused; grey follows the toolkit's rule (replicated)."""
    model = small_model("dipnet")
    with pytest.raises(DistillsrError, match=r"verification image does not fit this model: .*has 5"):
        _export_onnx()(model, tmp_path / "m.onnx", verify_image=np.dstack([photo, photo[..., :2]]))
    with pytest.raises(DistillsrError, match="too small to test two sizes"):
        _export_onnx()(model, tmp_path / "m.onnx", verify_image=photo[:15, :15])
    assert not (tmp_path / "m.onnx").exists()
    report = _export_onnx()(model, tmp_path / "grey.onnx", verify_image=photo[..., 0], image_source="grey")
    assert report.verified and report.sizes[0] == (1, 40, 40) and report.image_source == "grey"


@needs_onnx
@pytest.mark.parametrize("family, filename, name", OFFICIAL, ids=[o[2] for o in OFFICIAL])
def test_official_checkpoints_match_pytorch(family, filename, name, photo, crop_tensor, tolerance, tmp_path):
    from distillsr.inference.onnx_backend import OnnxModel

    model = load_or_build(None, None, str(official_weights(family, filename)))
    assert model.name == name
    report = _export_onnx()(model, tmp_path / f"{name}.onnx", verify_image=photo[:24, :24])
    assert max(report.max_abs_diff) <= tolerance, report.max_abs_diff
    metadata = OnnxModel.load(report.path).metadata
    assert metadata["network_input_range"] == model.input_range == (255.0 if name == "e-rfdn" else 1.0)
    assert metadata["provenance"]["converted_from"] == filename
    # a plain onnxruntime user feeds [0, 1] and gets [0, 1], whatever range the network wants
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    x = crop_tensor(photo, 16, 20, top=8, left=4)
    out = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = model(x).numpy()
    assert out.shape == (1, 3, 64, 80)
    assert np.abs(out - expected).max() <= tolerance
    assert abs(float(out.mean()) - float(x.mean())) < 0.05
