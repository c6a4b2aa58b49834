"""CSD's slimmable CARN: published counts, the official layout, and its fusion-slicing quirk."""

from __future__ import annotations

import pytest
import torch
from support.models import check_forward_at_every_width, check_published_widths

from distillsr.models.carn import CARN
from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count

# methods.md §4.1, counted from the official CSD classes (x4), in millions at the printed precision.
PUBLISHED_MILLIONS = {1.0: 1.11, 0.75: 0.63, 0.5: 0.28, 0.25: 0.07}


@pytest.fixture(scope="module")
def official_x4() -> CARN:
    return CARN(4)


def test_active_parameters_match_published_table(official_x4) -> None:
    check_published_widths(official_x4, PUBLISHED_MILLIONS)


def test_exact_counts_x4(official_x4) -> None:
    exact = [active_parameter_count(official_x4, w) for w in DEFAULT_WIDTHS]
    assert exact == [1_111_875, 626_547, 279_459, 70_611]


def test_official_module_names(official_x4) -> None:
    carn = official_x4.state_dict()
    assert {
        "entry.weight", "b3.b2.conv1.weight", "b1.c3.conv.weight", "c1.conv.weight", "c3.conv.bias",
        "upsample.blocks.1.weight", "exit.weight", "add_mean.weight",
    } <= set(carn)
    assert carn["c3.conv.weight"].shape == (64, 256, 1, 1)


def test_official_size_forward_at_every_width(official_x4) -> None:
    check_forward_at_every_width(official_x4, 4)


def test_carn_fusion_reads_leading_columns_of_the_concatenation() -> None:
    """The documented quirk: at w=0.5 the fusion conv of [c0, b1] (8 + 8 channels of a 16-wide
    model) uses kernel columns 0..15, which the full model applies to c0 alone."""
    model = CARN(2, channels=16)
    model.set_width(0.5)
    fusion = model.b1.c1.conv
    assert fusion.active_weight().shape == (8, 16, 1, 1)
    assert fusion.active_weight().data_ptr() == fusion.weight.data_ptr()
    assert torch.equal(fusion.active_weight(), fusion.weight[:8, :16])
