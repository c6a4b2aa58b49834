"""Channel-splitting layers, the width protocol, and CSD's slimmable EDSR / RCAN / CARN.

The big models are built once (for their parameter counts and one tiny forward); everything that
runs many forwards uses small configurations, so the file stays fast on a CPU.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
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

# methods.md §4.1, counted from the official CSD classes (x4), in millions at the printed precision.
PUBLISHED_MILLIONS = {
    "edsr": {1.0: 43.09, 0.75: 24.24, 0.5: 10.78, 0.25: 2.70},
    "rcan": {1.0: 15.59, 0.75: 8.78, 0.5: 3.91, 0.25: 0.98},
    "carn": {1.0: 1.11, 0.75: 0.63, 0.5: 0.28, 0.25: 0.07},
}


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


def lr_image(scale_to: float = 255.0, size: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed)) * scale_to


@pytest.fixture(scope="module")
def official_x4() -> dict[str, SlimmableNetwork]:
    return {"edsr": EDSR.large(4), "rcan": RCAN(4), "carn": CARN(4)}


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


# --- parameter counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["edsr", "rcan", "carn"])
def test_active_parameters_match_published_table(official_x4, name: str) -> None:
    model = official_x4[name]
    counts = {w: active_parameter_count(model, w) for w in DEFAULT_WIDTHS}
    assert {w: round(n / 1e6, 2) for w, n in counts.items()} == PUBLISHED_MILLIONS[name]
    assert counts[1.0] == count_parameters(model).total  # mean shifts are buffers, not parameters
    with pytest.raises(DistillsrError):
        active_parameter_count(model, 0.6)


def test_exact_counts_x4(official_x4) -> None:
    exact = {name: [active_parameter_count(m, w) for w in DEFAULT_WIDTHS] for name, m in official_x4.items()}
    assert exact == {
        "edsr": [43_089_923, 24_244_227, 10_780_675, 2_699_267],
        "rcan": [15_592_355, 8_778_939, 3_909_075, 982_763],
        "carn": [1_111_875, 626_547, 279_459, 70_611],
    }


def test_active_count_equals_a_narrow_model() -> None:
    full = EDSR(3, num_blocks=2, channels=32)
    narrow = EDSR(3, num_blocks=2, channels=8)
    assert active_parameter_count(full, 0.25) == count_parameters(narrow).total


# --- official layout -------------------------------------------------------------------------------


def test_official_module_names(official_x4) -> None:
    edsr = set(official_x4["edsr"].state_dict())
    assert {
        "sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias", "head.weight",
        "body.31.conv1.weight", "body.31.conv2.bias", "body_conv.weight", "upsampler.blocks.1.weight",
        "tail_conv.bias",
    } <= edsr
    rcan = set(official_x4["rcan"].state_dict())
    assert {
        "head_conv.weight", "body.9.body.19.body.1.weight", "body.9.body.19.caLayer.conv_du.0.weight",
        "body.9.body.19.caLayer.conv_du.1.bias", "body.9.conv.weight", "body_conv.weight",
        "upsampler.blocks.0.weight", "tail_conv.weight", "sub_mean.bias",
    } <= rcan
    carn = official_x4["carn"].state_dict()
    assert {
        "entry.weight", "b3.b2.conv1.weight", "b1.c3.conv.weight", "c1.conv.weight", "c3.conv.bias",
        "upsample.blocks.1.weight", "exit.weight", "add_mean.weight",
    } <= set(carn)
    assert carn["c3.conv.weight"].shape == (64, 256, 1, 1)
    assert EDSR(3, num_blocks=1, channels=8).state_dict()["upsampler.blocks.0.weight"].shape == (72, 8, 3, 3)


def test_mean_shift_is_fixed_and_unsliced() -> None:
    model = build_small("edsr", 2)
    assert not [name for name, _ in model.named_parameters() if "mean" in name]
    torch.testing.assert_close(model.sub_mean.bias, -255.0 * torch.tensor([0.4488, 0.4371, 0.4040]))
    model.set_width(0.25)
    x = lr_image()
    torch.testing.assert_close(model.sub_mean(x), x - model.add_mean.bias.view(1, 3, 1, 1))


@pytest.mark.parametrize("name", ["edsr", "rcan", "carn"])
def test_official_size_forward_at_every_width(official_x4, name: str) -> None:
    model = official_x4[name].eval()
    with torch.no_grad():
        for w in DEFAULT_WIDTHS:
            with width(model, w):
                assert model(lr_image(size=4)).shape == (1, 3, 16, 16)


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


def reference_edsr(model: EDSR, x: torch.Tensor, w: float) -> torch.Tensor:
    """CSD's EDSR forward written out with plain functional convs and explicit slices."""
    p = {k: v.detach() for k, v in model.state_dict().items()}
    nf = p["head.weight"].shape[0]
    k = int(w * nf)
    x = F.conv2d(x, p["sub_mean.weight"], p["sub_mean.bias"])
    x = F.conv2d(x, p["head.weight"][:k], p["head.bias"][:k], padding=1)
    res = x
    for i in range(len(model.body)):
        y = F.relu(F.conv2d(res, p[f"body.{i}.conv1.weight"][:k, :k], p[f"body.{i}.conv1.bias"][:k], padding=1))
        y = F.conv2d(y, p[f"body.{i}.conv2.weight"][:k, :k], p[f"body.{i}.conv2.bias"][:k], padding=1)
        res = res + 0.1 * y
    x = x + F.conv2d(res, p["body_conv.weight"][:k, :k], p["body_conv.bias"][:k], padding=1)
    for j in range(len(model.upsampler.blocks)):
        weight, bias = p[f"upsampler.blocks.{j}.weight"], p[f"upsampler.blocks.{j}.bias"]
        x = F.pixel_shuffle(F.conv2d(x, weight[: 4 * k, :k], bias[: 4 * k], padding=1), 2)
    x = F.conv2d(x, p["tail_conv.weight"][:, :k], p["tail_conv.bias"], padding=1)
    return F.conv2d(x, p["add_mean.weight"], p["add_mean.bias"])


def test_edsr_matches_functional_reference() -> None:
    model = randomise(EDSR(4, num_blocks=3, channels=16, res_scale=0.1)).double()
    x = lr_image().double()
    for w in DEFAULT_WIDTHS:
        with torch.no_grad(), width(model, w):
            torch.testing.assert_close(model(x), reference_edsr(model, x, w), rtol=1e-10, atol=1e-9)


def test_carn_fusion_reads_leading_columns_of_the_concatenation() -> None:
    """The documented quirk: at w=0.5 the fusion conv of [c0, b1] (8 + 8 channels of a 16-wide
    model) uses kernel columns 0..15, which the full model applies to c0 alone."""
    model = CARN(2, channels=16)
    model.set_width(0.5)
    fusion = model.b1.c1.conv
    assert fusion.active_weight().shape == (8, 16, 1, 1)
    assert fusion.active_weight().data_ptr() == fusion.weight.data_ptr()
    assert torch.equal(fusion.active_weight(), fusion.weight[:8, :16])


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
