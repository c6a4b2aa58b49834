"""Channel-splitting layers and the width protocol, checked through CSD's EDSR / RCAN / CARN.

Everything here runs small configurations that keep each structural feature of the three
networks; their full-size counts and official layouts are in tests/models/test_<model>.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from support.models import lr_image
from torch import nn

from distillsr.efficiency.params import count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.carn import CARN
from distillsr.models.edsr import EDSR
from distillsr.models.rcan import RCAN
from distillsr.nn.slimmable import (
    DEFAULT_WIDTHS,
    SlimmableConv2d,
    SlimmableNetwork,
    active_channels,
    active_parameter_count,
    slimmable_layers,
    width,
)


def build_small(name: str, scale: int) -> SlimmableNetwork:
    """Small versions that keep every structural feature (CA hidden units >= 1 at width 0.25)."""
    if name == "edsr":
        return EDSR(scale, num_blocks=2, channels=16, res_scale=0.1)
    if name == "rcan":
        return RCAN(scale, num_groups=2, num_blocks=2, channels=64, reduction=16)
    return CARN(scale, channels=16)


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights with non-trivial biases (default init makes biases tiny)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
    return model


# --- SlimmableConv2d against an independent reference ------------------------------------------


@pytest.mark.parametrize("w", [1.0, 0.75, 0.5, 0.25, 0.3])
@pytest.mark.parametrize("slice_in, slice_out", [(True, True), (False, True), (True, False), (False, False)])
def test_conv_uses_leading_kernel_slice(w: float, slice_in: bool, slice_out: bool) -> None:
    torch.manual_seed(0)
    conv = SlimmableConv2d(12, 20, 3, padding=1, slice_in=slice_in, slice_out=slice_out)
    conv.width = w
    k_in = int(w * 12) if slice_in else 12
    k_out = int(w * 20) if slice_out else 20
    x = torch.randn(2, k_in, 5, 6)
    expected = F.conv2d(x, conv.weight.detach()[:k_out, :k_in], conv.bias.detach()[:k_out], padding=1)
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-6)
    assert conv.active_own_parameters(w) == k_out * k_in * 9 + k_out


def test_conv_keeps_groups_whole_and_follows_stride() -> None:
    torch.manual_seed(0)
    conv = SlimmableConv2d(10, 40, 3, stride=2, padding=1, bias=False, out_multiple=4)
    conv.width = 0.75  # int(0.75 * 10) = 7 features -> 28 outputs, not int(0.75 * 40) = 30
    assert (conv.active_in_channels(), conv.active_out_channels()) == (7, 28)
    x = torch.randn(1, 7, 9, 9)
    expected = F.conv2d(x, conv.weight.detach()[:28, :7], None, stride=2, padding=1)
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-6)
    assert active_channels(40, 0.75, multiple=4) == 28
    assert active_channels(30, 0.15, multiple=2) == 4  # 2 * int(2.25), where int(4.5) would be 4 too
    assert active_channels(128, 0.15, multiple=2) == 18  # official int(19.2) = 19 would not match


def test_conv_is_an_ordinary_conv_at_full_width() -> None:
    slim = SlimmableConv2d(4, 6, 3, padding=1)
    plain = nn.Conv2d(4, 6, 3, padding=1)
    plain.load_state_dict(slim.state_dict())
    assert isinstance(slim, nn.Conv2d) and set(slim.state_dict()) == {"weight", "bias"}
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(slim(x), plain(x))


def test_conv_names_a_channel_mismatch() -> None:
    conv = SlimmableConv2d(8, 8, 1)
    conv.width = 0.5
    with pytest.raises(ValueError, match="reads 4 of its 8"):
        conv(torch.randn(1, 8, 2, 2))


# --- the width protocol ------------------------------------------------------------------------


def test_set_width_validates_and_reaches_every_layer() -> None:
    model = build_small("edsr", 2)
    assert model.width == 1.0 and model.widths == DEFAULT_WIDTHS
    model.set_width(0.25)
    assert model.width == 0.25
    assert all(layer.width == 0.25 for layer in slimmable_layers(model))
    for bad in (0.3, 0.0, 2.0, "wide"):
        with pytest.raises(DistillsrError):
            model.set_width(bad)
    assert model.width == 0.25


def test_context_manager_restores_width_even_on_error() -> None:
    model = build_small("carn", 2)
    model.set_width(0.75)
    with width(model, 0.25) as inner:
        assert inner is model and model.width == 0.25
        with width(model, 0.5):
            assert model.width == 0.5
        assert model.width == 0.25
    assert model.width == 0.75
    with pytest.raises(RuntimeError, match="boom"), width(model, 0.5):
        raise RuntimeError("boom")
    assert model.width == 0.75
    with pytest.raises(DistillsrError), width(model, 0.6):
        pass
    assert model.width == 0.75


def test_width_is_per_model_not_global() -> None:
    a, b = build_small("edsr", 2), build_small("edsr", 2)
    a.set_width(0.5)
    assert b.width == 1.0


def test_mixed_layer_widths_are_reported() -> None:
    model = build_small("edsr", 2)
    model.head.width = 0.5
    with pytest.raises(DistillsrError, match="mixed widths"):
        _ = model.width


def test_widths_are_checked_at_construction() -> None:
    with pytest.raises(DistillsrError, match="include 1.0"):
        EDSR(2, num_blocks=1, channels=8, widths=(0.5, 0.25))
    with pytest.raises(DistillsrError, match="no channels"):
        RCAN(2, num_groups=1, num_blocks=1, channels=32)  # 2 CA units -> int(0.25 * 2) = 0
    with pytest.raises(DistillsrError):
        EDSR(5, num_blocks=1, channels=8)
    custom = EDSR(2, num_blocks=1, channels=8, widths=(1.0, 0.5))
    with pytest.raises(DistillsrError):
        custom.set_width(0.25)


def test_width_protocol_leaves_state_dict_alone() -> None:
    model = build_small("rcan", 3)
    keys = list(model.state_dict())
    model.set_width(0.5)
    assert list(model.state_dict()) == keys


# --- active parameter counts -----------------------------------------------------------------


def test_active_count_equals_a_narrow_model() -> None:
    full = EDSR(3, num_blocks=2, channels=32)
    narrow = EDSR(3, num_blocks=2, channels=8)
    assert active_parameter_count(full, 0.25) == count_parameters(narrow).total


# --- behaviour at every width --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["edsr", "rcan", "carn"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shapes(name: str, scale: int) -> None:
    model = build_small(name, scale).eval()
    x = torch.rand(2, 3, 5, 7) * 255
    with torch.no_grad():
        for w in model.widths:
            with width(model, w):
                assert model(x).shape == (2, 3, 5 * scale, 7 * scale)


def sliced_state_dict(full: nn.Module, narrow: nn.Module) -> dict[str, torch.Tensor]:
    """The full model's tensors cut to the narrow model's shapes by keeping leading indices."""
    source = full.state_dict()
    return {
        key: source[key][tuple(slice(0, n) for n in target.shape)].clone()
        for key, target in narrow.state_dict().items()
    }


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda c, s, **kw: EDSR(s, num_blocks=3, channels=c, res_scale=0.1, **kw), id="edsr"),
        pytest.param(lambda c, s, **kw: RCAN(s, num_groups=2, num_blocks=2, channels=c, reduction=4, **kw), id="rcan"),
        pytest.param(lambda c, s, **kw: CARN(s, channels=c, **kw), id="carn"),
    ],
)
@pytest.mark.parametrize("scale", [3, 4])
def test_narrow_width_equals_separately_built_narrow_model(make, scale: int) -> None:
    full = randomise(make(32, scale)).double()
    x = lr_image().double()
    for w, channels in ((0.5, 16), (0.25, 8), (0.75, 24)):
        narrow = make(channels, scale, widths=(1.0,)).double()  # a plain network: no narrower widths
        narrow.load_state_dict(sliced_state_dict(full, narrow))
        with torch.no_grad(), width(full, w):
            torch.testing.assert_close(full(x), narrow(x), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", ["edsr", "rcan", "carn"])
def test_gradients_reach_only_the_active_slices(name: str) -> None:
    model = build_small(name, 2)
    with torch.no_grad():  # keep every CA squeeze unit alive, so each active slice must get a gradient
        for key, param in model.named_parameters():
            if key.endswith("conv_du.0.bias"):
                param.fill_(1.0)
    model.set_width(0.5)
    model(lr_image()).mean().backward()
    touched = 0
    for layer in slimmable_layers(model):
        assert isinstance(layer, SlimmableConv2d)
        k_out, k_in = layer.active_out_channels(), layer.active_in_channels()
        grad, bias_grad = layer.weight.grad, layer.bias.grad
        assert grad is not None and bias_grad is not None
        assert not grad[k_out:].any() and not grad[:, k_in:].any() and not bias_grad[k_out:].any()
        touched += int(grad[:k_out, :k_in].abs().sum() > 0)
    assert touched == len(list(slimmable_layers(model)))
