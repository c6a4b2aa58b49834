"""CSD's slimmable RCAN at full size (15.6M parameters, so ``slow``): published counts and layout."""

from __future__ import annotations

import pytest
from support.models import check_forward_at_every_width, check_published_widths

from distillsr.models.rcan import RCAN
from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count

# methods.md §4.1, counted from the official CSD classes (x4), in millions at the printed precision.
PUBLISHED_MILLIONS = {1.0: 15.59, 0.75: 8.78, 0.5: 3.91, 0.25: 0.98}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def official_x4() -> RCAN:
    return RCAN(4)


def test_active_parameters_match_published_table(official_x4) -> None:
    check_published_widths(official_x4, PUBLISHED_MILLIONS)


def test_exact_counts_x4(official_x4) -> None:
    exact = [active_parameter_count(official_x4, w) for w in DEFAULT_WIDTHS]
    assert exact == [15_592_355, 8_778_939, 3_909_075, 982_763]


def test_official_module_names(official_x4) -> None:
    rcan = set(official_x4.state_dict())
    assert {
        "head_conv.weight", "body.9.body.19.body.1.weight", "body.9.body.19.caLayer.conv_du.0.weight",
        "body.9.body.19.caLayer.conv_du.1.bias", "body.9.conv.weight", "body_conv.weight",
        "upsampler.blocks.0.weight", "tail_conv.weight", "sub_mean.bias",
    } <= rcan


def test_official_size_forward_at_every_width(official_x4) -> None:
    check_forward_at_every_width(official_x4, 4)
