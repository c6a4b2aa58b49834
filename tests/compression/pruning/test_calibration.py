"""The calibration patches and the bicubic floor: scored as ``eval`` scores, refusing what must not be written."""

from __future__ import annotations

import math

import pytest
import torch
from support import official_weights

from distillsr import api
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.compression.pruning.calibration import (
    CalibrationSet,
    PruneRefused,
    QualityFloor,
    make_criterion,
)
from distillsr.data.samples import CALIBRATION_SIDE, calibration_folder
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_shipped_photos_are_whole_patches_at_every_scale(scale):
    calibration = CalibrationSet.shipped(scale)
    side = CALIBRATION_SIDE // scale
    assert calibration.lr.shape == (6, 3, side, side) and calibration.hr.shape == (6, 3, CALIBRATION_SIDE, CALIBRATION_SIDE)
    assert calibration.source == "the shipped calibration photos"


def test_the_floor_is_what_eval_gives_bicubic_and_the_model_on_the_same_photos():
    """A second implementation: the evaluation pipeline (file LR via MATLAB bicubic, uint8 SR, Y, border)."""
    calibration = CalibrationSet.shipped(4)
    [bicubic] = api.evaluate("bicubic", calibration_folder(), scale=4, device="cpu")
    assert calibration.bicubic_psnr == pytest.approx(bicubic.mean.psnr, abs=1e-9)
    builtin = load_or_build("builtin", 4, None)
    [scored] = api.evaluate(builtin, calibration_folder(), device="cpu")
    # batched vs one image at a time: float32 sums differ in the last bit, a rare pixel rounds the other way
    assert calibration.model_psnr(builtin) == pytest.approx(scored.mean.psnr, abs=1e-4)
    assert calibration.model_psnr(builtin) > calibration.bicubic_psnr + 1.0


class _Constant(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        up = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return up * 0 + self.value + self.weight


def test_the_floor_refuses_non_finite_and_below_bicubic_models_in_one_line():
    from distillsr.models.sr_model import SRModel

    floor = QualityFloor(CalibrationSet.shipped(2))
    with pytest.raises(PruneRefused, match="produces non-finite values on 6 patches") as error:
        floor.check(SRModel(_Constant(math.nan), "nan", 2), "the model")
    assert "\n" not in str(error.value)
    with pytest.raises(PruneRefused, match=r"scores \d+\.\d\d dB .* below bicubic's .* \(try this\)"):
        floor.check(SRModel(_Constant(0.5), "grey", 2), "the model", "try this")
    good = load_or_build("builtin", 2, None)
    assert floor.check(good, "the built-in model") > floor.bicubic


def test_patches_from_folders_are_spread_seeded_and_repeat_a_small_folder(tmp_path):
    from PIL import Image

    source = sorted(calibration_folder().glob("*.png"))[:2]
    for path in source:
        Image.open(path).save(tmp_path / path.name)
    one = CalibrationSet.from_folders([str(tmp_path)], 2, count=5, lr_patch_size=24, seed=3)
    again = CalibrationSet.from_folders([str(tmp_path)], 2, count=5, lr_patch_size=24, seed=3)
    assert one.lr.shape == (5, 3, 24, 24) and one.hr.shape == (5, 3, 48, 48)
    assert torch.equal(one.lr, again.lr) and torch.equal(one.hr, again.hr)
    assert len({tuple(patch.flatten()[:8].tolist()) for patch in one.lr}) == 5  # five different crops of two images


def test_every_criterion_builds_and_an_unknown_one_is_refused():
    calibration = CalibrationSet.shipped(2)
    network = build_model("rfdn", 2, channels=8, num_blocks=1).network
    for name in ("sensitivity", "taylor", "activation"):
        importance = make_criterion(name, calibration, 1.0)(network)
        assert set(importance) >= {"fea_conv", "LR_conv"} and all(torch.isfinite(v).all() for v in importance.values())
    assert make_criterion("l2", calibration, 1.0) is None
    with pytest.raises(DistillsrError, match="unknown pruning criterion 'size'"):
        make_criterion("size", calibration, 1.0)


def test_the_official_ddistill_sr_pruned_by_l2_norms_is_refused_not_written_as_nan():
    """Issue 18's probe: L2 pruning of DDistill-SR overflows float32 in a dynamic branch (NaN out)."""
    from distillsr.compression.pruning.checkpoint import deployed
    from distillsr.compression.pruning.iterative import PruneTarget, prune_iteratively

    model = deployed(load_or_build(None, None, str(official_weights("ddistill_sr", "DDistill-SRx4_inference.pth"))))
    floor = QualityFloor(CalibrationSet.shipped(4))
    with pytest.raises(PruneRefused, match="after pruning step 1 produces non-finite values"):
        prune_iteratively(model, 0.1, PruneTarget(params=500_000), floor=floor)


def test_the_default_criterion_keeps_e_rfdns_image_carrying_trunk_channel_22():
    """L2 filter norms rank channel 22 among the weakest (removing it alone costs 22 dB); the default must keep it."""
    from distillsr.compression.pruning.checkpoint import deployed
    from distillsr.compression.pruning.criteria import DEFAULT_CRITERION
    from distillsr.compression.pruning.groups import example_input, find_groups, group_by_name
    from distillsr.compression.pruning.ranking import weakest

    model = deployed(load_or_build(None, None, str(official_weights("rfdn", "RFDN_AIM.pth"))))
    network = model.network
    trunk = group_by_name(find_groups(network, example_input(network, 3, 32)))["fea_conv"]
    position = next(p for p, channel in enumerate(trunk.channels) if channel.indices[("fea_conv", "out")] == (22,))
    half = trunk.width // 2
    assert position in [trunk.channels.index(c) for c in weakest(network, trunk, half)]  # what L2 does
    importance = make_criterion(DEFAULT_CRITERION, CalibrationSet.shipped(4), model.input_range)(network)
    dropped = [trunk.channels.index(c) for c in weakest(network, trunk, trunk.width - 1, importance)]
    assert position not in dropped  # the one channel kept when all others go
