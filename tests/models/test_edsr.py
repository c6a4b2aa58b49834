"""CSD's slimmable EDSR: published parameter counts, the official layout, and a functional reference.

The full-size model has 43M parameters; the cases that build it are marked ``slow``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from support.models import (
    check_forward_at_every_width,
    check_published_widths,
    lr_image,
    randomise_parameters,
)

from distillsr.models.edsr import EDSR
from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count, width

# methods.md §4.1, counted from the official CSD classes (x4), in millions at the printed precision.
PUBLISHED_MILLIONS = {1.0: 43.09, 0.75: 24.24, 0.5: 10.78, 0.25: 2.70}


@pytest.fixture(scope="module")
def official_x4() -> EDSR:
    return EDSR.large(4)


@pytest.mark.slow
def test_active_parameters_match_published_table(official_x4) -> None:
    check_published_widths(official_x4, PUBLISHED_MILLIONS)


@pytest.mark.slow
def test_exact_counts_x4(official_x4) -> None:
    exact = [active_parameter_count(official_x4, w) for w in DEFAULT_WIDTHS]
    assert exact == [43_089_923, 24_244_227, 10_780_675, 2_699_267]


@pytest.mark.slow
def test_official_module_names(official_x4) -> None:
    edsr = set(official_x4.state_dict())
    assert {
        "sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias", "head.weight",
        "body.31.conv1.weight", "body.31.conv2.bias", "body_conv.weight", "upsampler.blocks.1.weight",
        "tail_conv.bias",
    } <= edsr
    assert EDSR(3, num_blocks=1, channels=8).state_dict()["upsampler.blocks.0.weight"].shape == (72, 8, 3, 3)


@pytest.mark.slow
def test_official_size_forward_at_every_width(official_x4) -> None:
    check_forward_at_every_width(official_x4, 4)


def test_mean_shift_is_fixed_and_unsliced() -> None:
    model = EDSR(2, num_blocks=2, channels=16, res_scale=0.1)
    assert not [name for name, _ in model.named_parameters() if "mean" in name]
    torch.testing.assert_close(model.sub_mean.bias, -255.0 * torch.tensor([0.4488, 0.4371, 0.4040]))
    model.set_width(0.25)
    x = lr_image()
    torch.testing.assert_close(model.sub_mean(x), x - model.add_mean.bias.view(1, 3, 1, 1))


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
    model = randomise_parameters(EDSR(4, num_blocks=3, channels=16, res_scale=0.1), seed=0).double()
    x = lr_image().double()
    for w in DEFAULT_WIDTHS:
        with torch.no_grad(), width(model, w):
            torch.testing.assert_close(model(x), reference_edsr(model, x, w), rtol=1e-10, atol=1e-9)
