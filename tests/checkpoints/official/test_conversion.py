"""distillsr.checkpoints.official.conversion: the record a detector returns, and its two shape helpers."""

from __future__ import annotations

import pytest
import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    strip_prefix,
    upsampler_scale,
)


def test_conversion_defaults_are_fresh_per_instance():
    a, b = Conversion("imdn", 4), Conversion("rfdn", 2)
    a.kwargs["channels"] = 8
    a.state_dict["x"] = torch.zeros(1)
    assert b.kwargs == {} and b.state_dict == {}
    assert (b.layout, b.input_range) == ("", 1.0)


def test_a_prefix_every_key_carries_is_dropped_once():
    tensor = torch.zeros(1)
    state = {"module.a.weight": tensor, "module.module.b": tensor}
    assert strip_prefix(state) == {"a.weight": tensor, "module.b": tensor}
    assert strip_prefix({"net.conv.weight": tensor}, prefix="net.") == {"conv.weight": tensor}


def test_a_prefix_only_some_keys_carry_is_kept():
    state = {"module.a": torch.zeros(1), "b": torch.zeros(1)}
    assert strip_prefix(state) == state


def test_the_input_is_never_modified_and_the_result_is_a_new_dict():
    state = {"a": torch.zeros(1)}
    result = strip_prefix(state)
    result["extra"] = torch.ones(1)
    assert list(state) == ["a"]
    assert strip_prefix({}) == {}


@pytest.mark.parametrize("scale", range(1, 9))
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_upsampler_scale_reads_the_pixel_shuffle_width(scale, channels):
    assert upsampler_scale(channels * scale * scale, channels) == scale


@pytest.mark.parametrize("out_channels", [0, 2, 10, 13, 47, 3 * 9 * 9, 3 * 16 * 16])
def test_widths_that_are_no_rgb_pixel_shuffle_give_none(out_channels):
    assert upsampler_scale(out_channels) is None
