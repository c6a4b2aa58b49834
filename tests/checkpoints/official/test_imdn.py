"""IMDN checkpoint detection: the official files and our model in their layout in, other layouts out."""

from __future__ import annotations

import pytest
import torch
from support import official_weights

from distillsr.checkpoints.official import imdn as layout
from distillsr.checkpoints.official.registry import read_as
from distillsr.models.imdn import IMDN


def detect(state):
    """The layout's reading as the registry asks it (after the shared state-dict checks)."""
    return read_as(layout, state)


def _official_layout(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Zheng222/IMDN saves the DataParallel-wrapped model: every key prefixed ``module.``."""
    return {f"module.{k}": v for k, v in network.state_dict().items()}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_official_files_are_recognised(scale):
    state = torch.load(official_weights("imdn", f"IMDN_x{scale}.pth"), map_location="cpu", weights_only=True)
    conversion = detect(state)
    assert conversion is not None
    assert (conversion.model, conversion.scale, conversion.input_range) == ("imdn", scale, 1.0)
    assert conversion.kwargs == {"in_channels": 3, "channels": 64, "num_blocks": 6}
    assert conversion.layout == f"IMDN layout (Zheng222/IMDN): 6 blocks x 64 channels, x{scale}"
    assert set(conversion.state_dict) == {k.removeprefix("module.") for k in state}
    IMDN(scale=scale).load_state_dict(conversion.state_dict, strict=True)


@pytest.mark.parametrize("prefixed", [True, False], ids=["module.", "bare"])
def test_our_model_in_the_official_layout_is_recognised_with_its_shape(prefixed):
    network = IMDN(scale=3, in_channels=1, channels=16, num_blocks=2)
    state = _official_layout(network) if prefixed else network.state_dict()
    conversion = detect(state)
    assert conversion is not None and conversion.scale == 3
    assert conversion.kwargs == {"in_channels": 1, "channels": 16, "num_blocks": 2}
    rebuilt = IMDN(scale=conversion.scale, **conversion.kwargs)
    rebuilt.load_state_dict(conversion.state_dict, strict=True)
    x = torch.rand(1, 1, 6, 7)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), network(x))


def test_an_upsampler_of_no_pixel_shuffle_width_is_rejected():
    state = IMDN(scale=2, channels=16, num_blocks=1).state_dict()
    state["upsampler.0.weight"] = torch.zeros(10, 16, 3, 3)  # 10 = 3 * s * s for no s
    assert detect(state) is None


def test_other_layouts_are_rejected():
    from distillsr.models.rfdn import RFDN

    assert detect({}) is None
    assert detect(RFDN(scale=2, channels=8, num_blocks=1, attention="cca").state_dict()) is None
    without_cca = {k: v for k, v in IMDN(scale=2, channels=16, num_blocks=1).state_dict().items() if ".cca." not in k}
    assert detect(without_cca) is None


def test_a_wrongly_shaped_key_tensor_is_rejected_not_raised():
    state = IMDN(scale=2, channels=16, num_blocks=1).state_dict()
    state["fea_conv.weight"] = torch.zeros(16)
    assert detect(state) is None


def test_a_wrong_inner_shape_is_refused_by_the_detector_naming_the_tensor(tmp_path):
    """Every tensor is checked at detection, not only those that carry hyperparameters; the file is named."""
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.checkpoints.official.conversion import LayoutMismatch
    from distillsr.errors import DistillsrError

    state = _official_layout(IMDN(scale=2, channels=16, num_blocks=1))
    state["module.IMDB1.c3.weight"] = torch.zeros(16, 12, 1, 1)
    with pytest.raises(LayoutMismatch, match=r"IMDB1\.c3\.weight \[16,12,1,1\] vs \[16,12,3,3\]"):
        detect(state)
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(DistillsrError, match=r"odd\.pth: .*IMDB1\.c3\.weight \[16,12,1,1\] vs \[16,12,3,3\]"):
        load_or_build(None, None, str(tmp_path / "odd.pth"))
