"""DDistill-SR checkpoint detection: train-time and prefixed layouts in, every other layout out,
a DDistill-SR layout that does not fit refused with the tensor named."""

from __future__ import annotations

import pytest
import torch
from support import require_shared

from distillsr.checkpoints.official.conversion import LayoutMismatch
from distillsr.checkpoints.official import ddistill as layout
from distillsr.checkpoints.official.registry import read_as
from distillsr.models.ddistill import DDistillSR


def detect(state):
    """The layout's reading as the registry asks it (after the shared state-dict checks)."""
    return read_as(layout, state)


def test_detect_recognises_train_time_layout_and_prefix():
    train = DDistillSR(scale=2, channels=16, num_blocks=2, fusion_rank=4)
    conversion = detect({f"module.{k}": v for k, v in train.state_dict().items()})
    assert conversion is not None and conversion.scale == 2
    assert conversion.kwargs == {"in_channels": 3, "channels": 16, "num_blocks": 2, "fusion_rank": 4, "deploy": False}
    assert set(conversion.state_dict) == set(train.state_dict())


def test_detect_rejects_other_layouts():
    assert detect({}) is None
    assert detect({"fea_conv.weight": torch.zeros(4, 3, 3, 3), "B1.c1_d.weight": torch.zeros(2, 4, 1, 1)}) is None
    broken = DDistillSR(scale=3, channels=16, num_blocks=1, fusion_rank=4, deploy=True).state_dict()
    broken.pop("B1.esa.conv4.bias")
    with pytest.raises(LayoutMismatch, match=r"1 missing tensor\(s\) \(B1\.esa\.conv4\.bias\)"):
        detect(broken)
    rfdn = torch.load(require_shared("weights", "official", "rfdn", "RFDN_AIM.pth"), map_location="cpu", weights_only=True)
    assert detect(rfdn) is None
