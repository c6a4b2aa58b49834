"""Every zoo entry gets the same checks for free: builds at its scales, runs forward and backward,
folds to an equivalent deploy form, round-trips through a checkpoint, and reports exact counts;
and `load_or_build` names a checkpoint that holds another model or scale."""

from __future__ import annotations

import copy

import pytest
import torch
from support import official_weights
from support.models import random_state

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.models.zoo import ZOO, build_model, get_entry
from distillsr.nn.reparam import Foldable, deploy, is_deployed

ALL = sorted(ZOO)
# The full-size CSD models (up to 43M parameters) are exercised once, at x4, and marked slow:
# CI runs them, `-m "not slow"` skips them locally.
BIG = {"edsr", "rcan"}


def _cases():
    for name in ALL:
        entry = ZOO[name]
        scales = entry.scales or (2, 3, 4)
        for scale in (scales if name not in BIG else (4,)):
            yield name, scale


def _marked(*values):
    """A parametrize case, marked slow when it builds one of the BIG models (named first)."""
    return pytest.param(*values, marks=pytest.mark.slow) if values[0] in BIG else pytest.param(*values)


@pytest.mark.parametrize("name,scale", [_marked(name, scale) for name, scale in _cases()])
def test_forward_and_backward(name, scale):
    torch.manual_seed(0)
    model = build_model(name, scale)
    network = model.network.train()
    x = torch.rand(1, 3, 16, 17, requires_grad=True)
    out = model(x)
    assert out.shape == (1, 3, 16 * scale, 17 * scale)
    assert torch.isfinite(out).all()
    if name == "bicubic":  # evaluation bicubic emulates uint8 MATLAB rounding: not differentiable
        return
    out.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    if any(True for _ in network.parameters()):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in network.parameters())


@pytest.mark.parametrize("name,scale", [(n, s) for n, s in _cases() if ZOO[n].params.get(s)])
def test_exact_parameter_counts(name, scale):
    network = get_entry(name).build(scale)
    assert sum(p.numel() for p in network.parameters()) == ZOO[name].params[scale]


def _randomize_batchnorm(network: torch.nn.Module) -> None:
    generator = torch.Generator().manual_seed(1)
    for module in network.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


@pytest.mark.parametrize("name", [n for n in ALL if ZOO[n].form == "train"])
def test_train_form_folds_to_an_equivalent_deploy_form(name):
    torch.manual_seed(0)
    network = get_entry(name).build(3).double().eval()
    _randomize_batchnorm(network)
    assert any(isinstance(m, Foldable) for m in network.modules())
    x = torch.rand(1, 3, 20, 19, dtype=torch.float64)
    with torch.no_grad():
        expected = network(x)
        folded = deploy(copy.deepcopy(network))
        assert is_deployed(folded)
        assert (folded(x) - expected).abs().max() < 1e-10
        assert sum(p.numel() for p in folded.parameters()) < sum(p.numel() for p in network.parameters())


@pytest.mark.parametrize("name", [_marked(n) for n in ALL if ZOO[n].form != "train"])
def test_plain_and_deploy_forms_have_nothing_to_fold(name):
    assert is_deployed(get_entry(name).build(4 if name != "bicubic" else 2))


@pytest.mark.parametrize("name", [n for n in ALL if n not in BIG and n != "bicubic"])
def test_checkpoint_round_trip_with_defaults(tmp_path, name):
    entry = ZOO[name]
    network = entry.build(2).eval()
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, network.state_dict(), CheckpointInfo(name, 2, dict(entry.defaults), entry.input_range, form="train"))
    loaded = load_or_build(name, 2, str(path))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded.network(x), network(x))


@pytest.mark.parametrize("name", [n for n in ALL if ZOO[n].widths])
def test_slimmable_entries_switch_width(name):
    model = build_model(name, 2) if name not in BIG else build_model(name, 2, num_blocks=2) if name == "edsr" else build_model(name, 2, num_groups=1, num_blocks=1)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        full = model(x)
        model.set_width(0.25)
        narrow = model(x)
    assert narrow.shape == full.shape and not torch.equal(narrow, full)
    with pytest.raises(DistillsrError):
        model.set_width(0.3)


def test_unknown_names_scales_and_widths_are_clear():
    with pytest.raises(DistillsrError, match="did you mean e-rfdn"):
        build_model("e_rfdn", 4)
    with pytest.raises(DistillsrError, match="not x8"):
        build_model("imdn", 8)
    with pytest.raises(DistillsrError, match="not a channel-splitting model"):
        build_model("imdn", 2).set_width(0.5)
    with pytest.raises(DistillsrError, match="hyperparameters do not fit"):
        get_entry("imdn").build(2, colour="red")


def test_wrong_scale_and_wrong_architecture_are_named(tmp_path):
    path = tmp_path / "imdn_x2.safetensors"
    network = get_entry("imdn").build(2, channels=8, num_blocks=1)
    save_checkpoint(path, network.state_dict(), CheckpointInfo("imdn", 2, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match="x2 imdn model, but x4 was asked for"):
        load_or_build("imdn", 4, str(path))
    with pytest.raises(DistillsrError, match="holds the model imdn x2, not e-rfdn"):
        load_or_build("e-rfdn", 2, str(path))


def test_official_file_into_the_wrong_model_or_scale():
    path = str(official_weights("imdn", "IMDN_x4.pth"))
    with pytest.raises(DistillsrError, match="holds the model imdn x4, not e-rfdn"):
        load_or_build("e-rfdn", 4, path)
    with pytest.raises(DistillsrError, match="x4 imdn model, but x2 was asked for"):
        load_or_build("imdn", 2, path)


def test_a_bad_scale_in_the_metadata_names_the_file(tmp_path):
    path = tmp_path / "badscale.safetensors"
    save_checkpoint(path, random_state("rfdn", 4), CheckpointInfo(model="rfdn", scale=0))
    with pytest.raises(DistillsrError, match=rf"{path}: its metadata does not describe a zoo model \(scale"):
        load_or_build(None, None, str(path))
