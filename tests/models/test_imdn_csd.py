"""IMDN-CSD: IMDN with channel splitting. Its full width is IMDN tensor for tensor (an official file
starts it), every width runs, per-width counts match a hand count, and each width is a consistent
sub-network: the full network with the dropped channels zeroed, unlike CSD's CARN."""

from __future__ import annotations

import copy

import pytest
import torch
from support import official_weights
from support.models import check_forward_at_every_width, randomise_parameters

from distillsr.checkpoints.weights_file import load_state_dict_strictly, read_weights
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.models.imdn import IMDN, SlimmableIMDN
from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count, width
from distillsr.nn.slimmable_split import SplitSlimmableConv2d

SMALL = {"channels": 16, "num_blocks": 2, "cca_reduction": 4}  # hidden CCA units 4: one survives at 0.25


def _conv_params(cin: int, cout: int, k: int) -> int:
    return cout * cin * k * k + cout


def test_full_width_state_dict_is_imdns() -> None:
    slim, plain = SlimmableIMDN(4).state_dict(), IMDN(4).state_dict()
    assert list(slim) == list(plain)
    assert all(slim[k].shape == plain[k].shape for k in plain)


def test_width_one_equals_imdn_with_the_same_weights() -> None:
    torch.manual_seed(0)
    plain = randomise_parameters(IMDN(2, **SMALL), seed=3).eval()
    slim = SlimmableIMDN(2, **SMALL).eval()
    slim.load_state_dict(plain.state_dict(), strict=True)
    x = torch.rand(1, 3, 11, 13)
    with torch.no_grad():
        assert torch.equal(slim(x), plain(x))
        slim.set_width(0.5)
        assert not torch.allclose(slim(x), plain(x), atol=1e-3)


def test_an_official_imdn_file_starts_it_at_full_width() -> None:
    path = official_weights("imdn", "IMDN_x4.pth")
    loaded = read_weights(path)
    assert loaded.info.model == "imdn" and loaded.info.scale == 4
    slim = SlimmableIMDN(4).eval()
    load_state_dict_strictly(slim, loaded.state_dict, "imdn-csd x4")
    official = load_or_build(None, None, str(path))
    x = torch.rand(1, 3, 20, 18, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(slim(x), official.network(x))
        with width(slim, 0.25):
            narrow = slim(x)
    assert narrow.shape == (1, 3, 80, 72) and torch.isfinite(narrow).all()


def test_every_width_runs_at_every_scale() -> None:
    for scale in (2, 3, 4):
        check_forward_at_every_width(SlimmableIMDN(scale), scale)


def test_parameters_used_at_half_width_match_a_hand_count() -> None:
    # x4 at w = 0.5: trunk 32 channels, distilled 8, remaining 24, CCA hidden 2 (of 4).
    block = (
        _conv_params(32, 8 + 24, 3)  # c1
        + 2 * _conv_params(24, 8 + 24, 3)  # c2, c3
        + _conv_params(24, 8, 3)  # c4
        + _conv_params(4 * 8, 2, 1) + _conv_params(2, 4 * 8, 1)  # CCA
        + _conv_params(4 * 8, 32, 1)  # c5
    )
    whole = (
        _conv_params(3, 32, 3) + 6 * block + _conv_params(6 * 32, 32, 1) + _conv_params(32, 32, 3)
        + _conv_params(32, 3 * 16, 3)  # the tail writes all 48 sub-pixel channels
    )
    model = SlimmableIMDN(4)
    assert active_parameter_count(model, 0.5) == whole == 186_732
    assert active_parameter_count(model, 1.0) == 715_176  # methods.md §5.2
    assert [active_parameter_count(model, w) for w in DEFAULT_WIDTHS] == [715_176, 408_234, 186_732, 50_670]
    with pytest.raises(DistillsrError, match="runs at widths"):
        active_parameter_count(model, 0.6)


def test_split_convs_keep_the_first_channels_of_each_member() -> None:
    block = SlimmableIMDN(4).IMDB1
    c1, c5 = block.c1, block.c5
    assert c1.active_indices("out", 0.5).tolist() == [*range(8), *range(16, 40)]
    assert c5.active_indices("in", 0.25).tolist() == [*range(4), *range(16, 20), *range(32, 36), *range(48, 52)]
    assert c5.active_indices("out", 0.25).tolist() == list(range(16))
    assert block.cca.conv_du[0].active_indices("out", 0.75).tolist() == [0, 1, 2]


def _zero_dropped_channels(model: SlimmableIMDN, w: float) -> SlimmableIMDN:
    """The full network with every weight and bias a width-``w`` forward does not use set to zero."""
    masked = copy.deepcopy(model)
    with torch.no_grad():
        for conv in masked.modules():
            if isinstance(conv, SplitSlimmableConv2d):
                keep = torch.zeros_like(conv.weight, dtype=torch.bool)
                keep[conv.active_indices("out", w)[:, None], conv.active_indices("in", w)[None, :]] = True
                conv.weight.mul_(keep)
                outputs = torch.zeros(conv.out_channels, dtype=torch.bool)
                outputs[conv.active_indices("out", w)] = True
                conv.bias.mul_(outputs)
    return masked


@pytest.mark.parametrize("w", [0.75, 0.5, 0.25])
def test_each_width_is_the_full_network_with_the_dropped_channels_zeroed(w) -> None:
    model = randomise_parameters(SlimmableIMDN(3, **SMALL).double(), seed=5).eval()
    masked = _zero_dropped_channels(model, w)
    x = torch.rand(2, 3, 9, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        with width(model, w):
            narrow = model(x)
        assert masked.width == 1.0
        assert (masked(x) - narrow).abs().max() < 1e-10
        assert (model(x) - narrow).abs().max() > 1e-3  # the unmasked full network differs


def test_a_narrow_step_trains_only_the_slices_it_used() -> None:
    model = randomise_parameters(SlimmableIMDN(2, **SMALL), seed=2).train()
    model.set_width(0.25)
    model(torch.rand(1, 3, 8, 8)).square().mean().backward()
    c5 = model.IMDB2.c5
    used = torch.zeros_like(c5.weight, dtype=torch.bool)
    used[c5.active_indices("out")[:, None], c5.active_indices("in")[None, :]] = True
    assert c5.weight.grad[~used].abs().max() == 0
    assert c5.weight.grad[used].abs().sum() > 0


def test_a_width_that_empties_a_member_is_refused() -> None:
    with pytest.raises(DistillsrError, match="no channels"):
        SlimmableIMDN(2, channels=16, num_blocks=1, cca_reduction=8)  # 2 hidden CCA units: none at 0.25
    model = SlimmableIMDN(2, channels=16, num_blocks=1, cca_reduction=8, widths=(1.0, 0.5))
    assert model.widths == (1.0, 0.5)
    with pytest.raises(DistillsrError, match=r"runs at widths \(1.0, 0.5\), not 0.25"):
        model.set_width(0.25)
