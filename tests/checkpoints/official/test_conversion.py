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


def _imdn_state(**kwargs) -> dict[str, torch.Tensor]:
    from distillsr.models.imdn import IMDN

    return IMDN(**{"scale": 2, "channels": 8, "num_blocks": 1, **kwargs}).state_dict()


def test_check_layout_accepts_exactly_the_network_the_kwargs_build():
    from distillsr.checkpoints.official.conversion import check_layout

    check_layout(_imdn_state(), "imdn", 2, {"channels": 8, "num_blocks": 1}, "test layout")


def test_check_layout_names_the_first_missing_unexpected_and_mis_shaped_tensors():
    from distillsr.checkpoints.official.conversion import LayoutMismatch, check_layout

    state = _imdn_state()
    for name in ("IMDB1.c1.bias", "IMDB1.c2.bias", "IMDB1.c3.bias", "IMDB1.c4.bias"):
        del state[name]
    state["extra"] = torch.zeros(1)
    state["LR_conv.weight"] = torch.zeros(8, 8, 1, 1)
    with pytest.raises(LayoutMismatch) as caught:
        check_layout(state, "imdn", 2, {"channels": 8, "num_blocks": 1}, "the test layout")
    assert str(caught.value) == (
        "recognised as the test layout, but its tensors do not fit the imdn x2 network those shapes imply: "
        "4 missing tensor(s) (IMDB1.c1.bias, IMDB1.c2.bias, IMDB1.c3.bias and 1 more); "
        "1 unexpected tensor(s) (extra); "
        "1 shape mismatch(es) (checkpoint vs model: LR_conv.weight [8,8,1,1] vs [8,8,3,3])"
    )


def test_check_layout_says_when_the_implied_hyperparameters_do_not_build():
    from distillsr.checkpoints.official.conversion import LayoutMismatch, check_layout

    with pytest.raises(LayoutMismatch, match=r"imply rfdn x2 with \{'attention': 'sam'\}, which does not build"):
        check_layout({}, "rfdn", 2, {"attention": "sam"}, "the test layout")


def test_zoo_name_prefers_the_release_whose_defaults_agree():
    from distillsr.checkpoints.official.conversion import zoo_name

    edip = {"channels": 44, "mid_channels": 32, "esa_channels": 16, "num_blocks": 4, "bias": True, "in_channels": 3}
    assert zoo_name(("edipv1", "dipnet"), edip) == "edipv1"
    assert zoo_name(("edipv1", "dipnet"), {**edip, "mid_channels": 30}) == "dipnet"
    assert zoo_name(("edipv1", "dipnet"), {**edip, "bias": False}) == "dipnet"
    assert zoo_name(("rfdn-l", "rfdn"), {"channels": 52, "num_blocks": 6, "attention": "cca", "cca_reduction": 4}) == "rfdn-l"
