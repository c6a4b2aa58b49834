"""DIPNet / EDIPv1 checkpoint detection: prefixed layouts in, every other layout out, a DIPNet
layout that does not fit refused with the tensor named."""

from __future__ import annotations

import pytest
import torch
from support import require_shared

from distillsr.checkpoints.official.conversion import LayoutMismatch
from distillsr.checkpoints.official import dipnet as layout
from distillsr.checkpoints.official.registry import read_as
from distillsr.models.dipnet import DIPNet


def detect(state):
    """The layout's reading as the registry asks it (after the shared state-dict checks)."""
    return read_as(layout, state)


def test_detect_accepts_a_prefixed_state_dict() -> None:
    state = {f"module.{k}": v for k, v in DIPNet(scale=2).state_dict().items()}
    conversion = detect(state)
    assert conversion is not None and conversion.scale == 2 and conversion.model == "dipnet"


def test_detect_rejects_other_layouts() -> None:
    rfdn = torch.load(require_shared("weights", "official", "rfdn", "RFDN_AIM.pth"), map_location="cpu", weights_only=True)
    assert detect(rfdn) is None
    assert detect({"conv_1.weight": torch.zeros(8, 3, 3, 3), "body.0.weight": torch.zeros(8, 8, 3, 3)}) is None
    assert detect({}) is None
    # a DIPNet dict with one extra or one missing tensor is refused, naming it
    state = DIPNet().state_dict()
    with pytest.raises(LayoutMismatch, match=r"1 unexpected tensor\(s\) \(extra\.weight\)"):
        detect({**state, "extra.weight": torch.zeros(1)})
    state.pop("block_4.esa.conv4.bias")
    with pytest.raises(LayoutMismatch, match=r"1 missing tensor\(s\) \(block_4\.esa\.conv4\.bias\)"):
        detect(state)
