"""The onnxruntime backend: exported and foreign files loaded, checked, and run like a PyTorch model.

The files come from the exporter (``exported_ddistill``, tests/inference/conftest.py) and from
``torch.onnx.export`` directly (a foreign graph without distillsr's metadata).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from distillsr.errors import DistillsrError
from distillsr.inference.onnx_backend import OnnxModel


def test_the_upscaler_runs_the_onnx_backend(exported_ddistill, photo):
    from distillsr.inference.upscaler import Upscaler

    model, report = exported_ddistill
    image = photo[:24, :28]
    via_onnx = Upscaler(OnnxModel.load(report.path), device="cpu", tile=None).upscale_array(image)
    via_torch = Upscaler(model, device="cpu", tile=None).upscale_array(image)
    assert via_onnx.shape == (48, 56, 3) and via_onnx.dtype == np.uint8
    assert np.abs(via_onnx.astype(int) - via_torch.astype(int)).max() <= 1


# --- the ONNX backend's errors on exported and foreign files -----------------------------------------


def _foreign_onnx(path) -> None:
    """A plain x2 SR graph written by another tool: no distillsr metadata."""
    net = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)).eval()
    torch.onnx.export(
        net, (torch.rand(1, 3, 8, 8),), str(path), dynamo=False, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h2", 3: "w2"}},
    )


def test_corrupt_missing_and_wrong_inputs(tmp_path, exported_ddistill):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07not really a protobuf" * 10)
    with pytest.raises(DistillsrError, match="is not a readable ONNX model"):
        OnnxModel.load(corrupt)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(exported_ddistill[1].path.read_bytes()[:5000])
    with pytest.raises(DistillsrError, match="is not a readable ONNX model"):
        OnnxModel.load(truncated)
    with pytest.raises(DistillsrError, match="not found"):
        OnnxModel.load(tmp_path / "absent.onnx")
    model = OnnxModel.load(exported_ddistill[1].path)
    with pytest.raises(DistillsrError, match="takes 3 channels, got 1"):
        model(torch.rand(1, 1, 20, 20))
    with pytest.raises(DistillsrError, match="empty image"):
        model(torch.rand(1, 3, 0, 20))
    with pytest.raises(DistillsrError, match="is a x2 ddistill-sr model, but x4 was asked for"):
        OnnxModel.load(exported_ddistill[1].path, scale=4)
    with pytest.raises(DistillsrError, match="provider"):
        OnnxModel.load(exported_ddistill[1].path, providers=["NoSuchExecutionProvider"])


def test_inputs_below_the_minimum_are_padded_as_the_torch_model_pads_them(exported_ddistill):
    """The SRModel contract holds for the ONNX backend too: a 10x20 input is grown, run and cropped."""
    torch_model, report = exported_ddistill
    model = OnnxModel.load(report.path)
    x = torch.rand(1, 3, 10, 20, generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert out.shape == (1, 3, 20, 40)
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(x)
    assert torch.allclose(out, expected, atol=1e-4)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the foreign file uses the exporter directly
def test_a_foreign_graph_runs_when_given_its_scale(tmp_path):
    path = tmp_path / "foreign.onnx"
    _foreign_onnx(path)
    with pytest.raises(DistillsrError, match="no distillsr metadata.*give the scale"):
        OnnxModel.load(path)
    model = OnnxModel.load(path, scale=2)
    assert (model.name, model.in_channels, model.input_range) == ("foreign", 3, 1.0)
    assert model(torch.rand(2, 3, 9, 7)).shape == (2, 3, 18, 14)
    with pytest.raises(DistillsrError, match="not an x3 upscale"):
        OnnxModel.load(path, scale=3)(torch.rand(1, 3, 9, 7))


def test_missing_extra_gives_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        OnnxModel.load(tmp_path / "m.onnx")
