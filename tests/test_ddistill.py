"""DDistill-SR: exact DBB / RDU / whole-model folds, official key layouts, sizes, golden output."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from distillsr.checkpoints.official.ddistill import detect
from distillsr.models.ddistill import DDistillSR
from distillsr.nn.dbb import DiverseBranchBlock
from distillsr.nn.dynamic import RDU, DynamicConv
from distillsr.nn.reparam import deploy, is_deployed

SHARED = Path(os.environ.get("DISTILLSR_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}

TRAIN_PARAMS = {2: 1_154_824, 3: 1_162_399, 4: 1_173_004}
DEPLOY_PARAMS = {2: 657_600, 3: 665_175, 4: 675_780}


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (the ../shared folder of reference files and weights is absent)")
    return path


def parse_key_list(path: Path) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(maxsplit=1)
        inner = shape.strip().strip("[]")
        shapes[name] = tuple(int(d) for d in inner.split(",")) if inner else ()
    return shapes


def shapes_of(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomise(model: nn.Module, seed: int, std: float = 0.1) -> nn.Module:
    """Random weights and random BN statistics, so no branch or BN of a fold hides behind defaults."""
    generator = torch.Generator().manual_seed(seed)

    def normal(t: torch.Tensor, scale: float) -> torch.Tensor:
        return torch.randn(t.shape, generator=generator, dtype=torch.float64).to(t.dtype) * scale

    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(normal(parameter, std))
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(1.0 + normal(module.weight, 0.3))
                module.bias.copy_(normal(module.bias, 0.3))
                module.running_mean.copy_(normal(module.running_mean, 0.3))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator).to(module.running_var.dtype))
    return model.eval()


def train_and_deploy(model: nn.Module, dtype: torch.dtype) -> tuple[nn.Module, nn.Module]:
    model = model.to(dtype).eval()
    return model, deploy(copy.deepcopy(model))


def max_diff(a: torch.Tensor | tuple, b: torch.Tensor | tuple) -> float:
    if isinstance(a, tuple):
        return max(max_diff(x, y) for x, y in zip(a, b))
    return (a - b).abs().max().item()


# ---------------------------------------------------------------- DBB


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "in_channels,out_channels,kernel_size",
    [(3, 8, 3), (8, 8, 3), (16, 12, 3), (8, 8, 1), (6, 10, 5), (1, 1, 3)],
)
def test_dbb_fold_is_exact(in_channels, out_channels, kernel_size, dtype):
    block = randomise(DiverseBranchBlock(in_channels, out_channels, kernel_size), seed=in_channels * 31 + kernel_size)
    train, folded = train_and_deploy(block, dtype)
    assert type(folded) is nn.Conv2d and folded.bias is not None
    assert folded.weight.dtype == dtype
    x = torch.randn(2, in_channels, 11, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        difference = max_diff(train(x), folded(x))
    assert difference <= TOLERANCE[dtype], difference


def test_dbb_key_names_follow_the_official_layout():
    names = set(DiverseBranchBlock(4, 4, 3).state_dict())
    assert names == {
        "dbb_origin.conv.weight", *(f"dbb_origin.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_avg.conv.weight",
        *(f"dbb_avg.bn.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        *(f"dbb_avg.avgbn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1.conv.weight", *(f"dbb_1x1.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1_kxk.idconv1.weight",
        *(f"dbb_1x1_kxk.bn1.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1_kxk.conv2.weight",
        *(f"dbb_1x1_kxk.bn2.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    }


def test_dbb_starts_as_its_kxk_branch_family():
    """The identity-initialised 1x1 makes a fresh branch 4 a plain conv_kxk + BN of its input."""
    block = DiverseBranchBlock(4, 4, 3).eval()
    assert torch.equal(block.dbb_1x1_kxk.idconv1.kernel()[:, :, 0, 0], torch.eye(4))


# ---------------------------------------------------------------- RDU


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("in_channels,out_channels,rank", [(16, 16, 4), (12, 20, 5), (24, 8, 6)])
def test_rdu_fold_is_exact_and_keeps_the_dynamic_branch(in_channels, out_channels, rank, dtype):
    rdu = randomise(RDU(in_channels, out_channels, 3, rank=rank, activation=nn.LeakyReLU(0.05)), seed=rank)
    train, folded = train_and_deploy(rdu, dtype)
    assert isinstance(folded.unit, DynamicConv) and is_deployed(folded)
    assert not is_deployed(train), "folding must leave the train-time module untouched"
    train_branch = {k: v for k, v in train.state_dict().items() if ".dy_branch." in k}
    folded_branch = {k: v for k, v in folded.state_dict().items() if ".dy_branch." in k}
    assert train_branch.keys() == folded_branch.keys()
    assert all(torch.equal(train_branch[k], folded_branch[k]) for k in train_branch)
    assert set(folded.state_dict()) - set(folded_branch) == {"unit.dbb_reparam.weight", "unit.dbb_reparam.bias"}
    assert shapes_of(folded) == shapes_of(RDU(in_channels, out_channels, 3, rank=rank, deploy=True))
    x = torch.randn(3, in_channels, 10, 13, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        difference = max_diff(train(x), folded(x))
    assert difference <= TOLERANCE[dtype], difference


# ---------------------------------------------------------------- whole model


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_small_model_deploy_is_exact(dtype):
    config = {"scale": 3, "channels": 16, "num_blocks": 2, "fusion_rank": 4}
    model = randomise(DDistillSR(**config), seed=7, std=0.1)
    train, deployed = train_and_deploy(model, dtype)
    assert is_deployed(deployed) and not is_deployed(train)
    assert shapes_of(deployed) == shapes_of(DDistillSR(**config, deploy=True))
    # Small values keep the clamp to [0, 1] from hiding differences.
    x = 0.5 + 0.1 * torch.randn(2, 3, 24, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        a, b = train(x), deployed(x)
    inside = ((a > 0) & (a < 1)).double().mean().item()
    assert inside > 0.5, f"only {inside:.0%} of outputs unclamped: the comparison would be vacuous"
    assert a.shape == (2, 3, 72, 60)
    difference = max_diff(a, b)
    assert difference <= TOLERANCE[dtype], difference


def test_key_layouts_equal_the_official_files():
    deploy_keys = parse_key_list(shared_path("reference", "keys", "ddistill_sr_DDistill-SRx4_inference.pth.txt"))
    train_keys = parse_key_list(shared_path("reference", "keys", "ddistill_sr_train-time-x4_expected.txt"))
    assert shapes_of(DDistillSR(scale=4, deploy=True)) == deploy_keys
    train = DDistillSR(scale=4, deploy=False)
    assert shapes_of(train) == train_keys
    assert shapes_of(deploy(train)) == deploy_keys


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts(scale):
    assert param_count(DDistillSR(scale=scale)) == TRAIN_PARAMS[scale]
    assert param_count(DDistillSR(scale=scale, deploy=True)) == DEPLOY_PARAMS[scale]


# ---------------------------------------------------------------- official checkpoint


def load_official() -> dict[str, torch.Tensor]:
    path = shared_path("weights", "official", "ddistill_sr", "DDistill-SRx4_inference.pth")
    return torch.load(path, map_location="cpu", weights_only=True)


def test_golden_output():
    golden = np.load(shared_path("reference", "golden", "ddistill-sr_x4.npz"))
    conversion = detect(load_official())
    assert conversion is not None
    assert conversion.model == "ddistill-sr" and conversion.scale == 4 and conversion.input_range == 1.0
    assert conversion.kwargs == {"in_channels": 3, "channels": 56, "num_blocks": 4, "fusion_rank": 16, "deploy": True}
    model = DDistillSR(scale=conversion.scale, **conversion.kwargs)
    model.load_state_dict(conversion.state_dict, strict=True)
    x = torch.from_numpy(golden["lr"].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        sr = model.eval()(x)[0].numpy()
    assert sr.shape == golden["sr"].shape
    assert np.abs(sr - golden["sr"]).max() <= 2e-5


def test_detect_recognises_train_time_layout_and_prefix():
    train = DDistillSR(scale=2, channels=16, num_blocks=2, fusion_rank=4)
    conversion = detect({f"module.{k}": v for k, v in train.state_dict().items()})
    assert conversion is not None and conversion.scale == 2
    assert conversion.kwargs == {"in_channels": 3, "channels": 16, "num_blocks": 2, "fusion_rank": 4, "deploy": False}
    assert set(conversion.state_dict) == set(train.state_dict())


def test_detect_rejects_other_layouts():
    assert detect({}) is None
    assert detect({"fea_conv.weight": torch.zeros(4, 3, 3, 3), "B1.c1_d.weight": torch.zeros(2, 4, 1, 1)}) is None
    broken = DDistillSR(scale=3, channels=16, num_blocks=1, fusion_rank=4, deploy=True).state_dict()
    broken.pop("B1.esa.conv4.bias")
    assert detect(broken) is None
    rfdn = torch.load(shared_path("weights", "official", "rfdn", "RFDN_AIM.pth"), map_location="cpu", weights_only=True)
    assert detect(rfdn) is None
