"""inference.fast_path: which precision runs where, and the exact path's promise on the official models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import official_weights, require_shared

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image
from distillsr.imaging.tensors import image_to_tensor
from distillsr.inference import fast_path
from distillsr.inference.fast_path import precision_for, resolve_precision
from distillsr.inference.upscaler import Upscaler
from distillsr.models.zoo import build_model

CPU = torch.device("cpu")
OFFICIAL_X4 = (
    ("rfdn", "RFDN_AIM.pth"),
    ("dipnet", "DIPNet.pth"),
    ("dipnet", "EDIPv1.pth"),
    ("ddistill_sr", "DDistill-SRx4_inference.pth"),
    ("imdn", "IMDN_x4.pth"),
)


@pytest.fixture
def flags(monkeypatch):
    def set_flags(*names):
        monkeypatch.setattr(fast_path, "cpu_flags", lambda: frozenset(names))

    return set_flags


def test_auto_is_bf16_only_where_the_cpu_does_it_natively(flags):
    flags("avx512f", "avx512_bf16")
    assert resolve_precision("auto", CPU) == "bf16"
    flags("amx_bf16")
    assert resolve_precision("auto", CPU) == "bf16"
    flags("avx512f", "avx2")  # emulated bf16 is slower than fp32
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16", "asked for by name, it runs even if emulated"
    with pytest.raises(DistillsrError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", CPU)
    with pytest.raises(DistillsrError, match="precision must be one of auto, fp32, fp16, bf16"):
        resolve_precision("int8", CPU)


def test_a_model_that_cannot_take_reduced_precision_runs_fp32(flags):
    flags("avx512_bf16")
    bicubic = build_model("bicubic", scale=2)
    assert precision_for(bicubic, "auto", CPU) == "fp32"
    with pytest.raises(DistillsrError, match="model bicubic runs in fp32 only"):
        precision_for(bicubic, "bf16", CPU)
    assert precision_for(build_model("dipnet", scale=4), "auto", CPU) == "bf16"

    class Graph:  # an exported graph: not a torch network
        name, scale, in_channels = "graph", 2, 3

        def __call__(self, x):
            return x

    assert precision_for(Graph(), "auto", CPU) == "fp32"
    assert Upscaler(Graph(), device="cpu").precision == "fp32"


def test_the_network_runs_channels_last_on_the_cpu():
    model = build_model("dipnet", scale=4)
    Upscaler(model, device="cpu", precision="fp32")
    convs = [m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)


def _eight_bit(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


@pytest.mark.parametrize(("family", "filename"), OFFICIAL_X4, ids=[f for _, f in OFFICIAL_X4])
def test_the_exact_path_is_within_one_level_of_eager_fp32_on_set5(family, filename):
    """Reference: a second copy of the model, never prepared, run NCHW in plain float32."""
    path = official_weights(family, filename)
    folder = require_shared("data", "Set5", "LR_bicubic", "X4")
    reference, fast = load_or_build(None, None, str(path)), load_or_build(None, None, str(path))
    upscaler = Upscaler(fast, device="cpu", precision="fp32")
    for image in sorted(folder.glob("*.png")):
        x = image_to_tensor(read_image(image))
        with torch.inference_mode():
            expected = _eight_bit(reference(x))
        got = _eight_bit(upscaler.upscale_tensor(x))
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, image.name
