"""Round trips through every official layout: a zoo model with random weights, written as the
papers' repositories write it (``.pth``, and a bare ``.safetensors``), must come back from
``read_weights`` / ``load_or_build`` as the same model, scale and kwargs, computing the same outputs
bit for bit; one wrong, missing or extra tensor must be refused naming the file and the tensor.

The hyperparameter grids are small (tiny widths, one or two blocks) but cover every scale and
every variant the layouts carry: attention type and CCA reduction (RFDN), trunk and block biases
(DIPNet / EDIPv1), train-time and deploy forms (DDistill-SR), single-channel input (IMDN), mid
widths (RLFN, DIPNet-slim-v2), the concatenation width (SPAN), the cells' width (EFDN).

RLFN's layout is DIPNet's with every bias: a bare file of it is refused until the model is named,
so its points carry the name a user gives (``-m rlfn`` / ``-m dipnet``) and come back as that model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from support.models import randomise

from distillsr.checkpoints.weights_file import read_weights
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry

SIDE = 16  # ESA's strided pooling needs at least 15 pixels


@dataclass(frozen=True)
class Point:
    """One network of a grid: the zoo name it is built as (and must be detected as), its scale and
    the complete kwargs the detector reads back (every hyperparameter the layout carries)."""

    model: str
    scale: int
    kwargs: dict = field(default_factory=dict)
    named: str | None = None  # the model the user names (-m) for a layout two families share

    @property
    def id(self) -> str:
        named = f"-m={self.named}" if self.named else ""
        return f"{self.model}-x{self.scale}-" + "-".join(f"{k}={v}" for k, v in self.kwargs.items()) + named


def _rfdn(scale: int, channels: int, blocks: int, reduction: int, in_channels: int = 3) -> Point:
    kwargs = {"in_channels": in_channels, "channels": channels, "num_blocks": blocks, "attention": "cca",
              "block_residual": True, "cca_reduction": reduction}
    return Point("rfdn", scale, kwargs)


def _e_rfdn(scale: int, channels: int, blocks: int) -> Point:
    kwargs = {"in_channels": 3, "channels": channels, "num_blocks": blocks, "attention": "esa", "block_residual": False}
    return Point("e-rfdn", scale, kwargs)


def _imdn(scale: int, channels: int, blocks: int, in_channels: int = 3) -> Point:
    return Point("imdn", scale, {"in_channels": in_channels, "channels": channels, "num_blocks": blocks})


def _dipnet(model: str, scale: int, channels: int, mid: int, esa: int, blocks: int, bias: bool, block_bias: bool) -> Point:
    kwargs = {"in_channels": 3, "channels": channels, "mid_channels": mid, "esa_channels": esa, "num_blocks": blocks,
              "bias": bias, "block_bias": block_bias}
    return Point(model, scale, kwargs)


def _rlfn(model: str, scale: int, channels: int, mid: int, esa: int, blocks: int) -> Point:
    kwargs = {"in_channels": 3, "channels": channels, "mid_channels": mid, "esa_channels": esa, "num_blocks": blocks}
    return Point(model, scale, kwargs, named=model)


def _efdn(scale: int, channels: int, in_channels: int = 3) -> Point:
    return Point("efdn", scale, {"in_channels": in_channels, "channels": channels, "deploy": True})


def _span(scale: int, channels: int, cat: int, blocks: int) -> Point:
    kwargs = {"in_channels": 3, "channels": channels, "cat_channels": cat, "num_blocks": blocks, "deploy": True}
    return Point("span", scale, kwargs)


def _slim(scale: int, channels: int, mid: int, esa: int, blocks: int, in_channels: int = 3) -> Point:
    kwargs = {"in_channels": in_channels, "channels": channels, "mid_channels": mid, "esa_channels": esa,
              "num_blocks": blocks, "deploy": True}
    return Point("dipnet-slim-v2", scale, kwargs)


def _ddistill(scale: int, channels: int, blocks: int, rank: int, deploy: bool) -> Point:
    kwargs = {"in_channels": 3, "channels": channels, "num_blocks": blocks, "fusion_rank": rank, "deploy": deploy}
    return Point("ddistill-sr", scale, kwargs)


# One grid per official layout. A DIPNet-layout file is named ``edipv1`` when it has EDIPv1's
# widths and trunk biases, ``rfdn-l`` is RFDN's layout at RFDN-L's widths: those points are full size.
GRIDS: dict[str, list[Point]] = {
    "rfdn": [_rfdn(2, 8, 1, 4), _rfdn(3, 16, 2, 2), _rfdn(4, 12, 1, 4, in_channels=1), Point(
        "rfdn-l", 2, {"in_channels": 3, "channels": 52, "num_blocks": 6, "attention": "cca", "block_residual": True,
                      "cca_reduction": 4})],
    "e-rfdn": [_e_rfdn(2, 8, 1), _e_rfdn(3, 12, 2), _e_rfdn(4, 16, 1)],
    "imdn": [_imdn(2, 8, 1), _imdn(3, 16, 2), _imdn(4, 12, 1), _imdn(2, 16, 1, in_channels=1)],
    "dipnet": [_dipnet("dipnet", 2, 8, 6, 4, 1, False, False), _dipnet("dipnet", 3, 12, 12, 4, 2, False, True),
               _dipnet("dipnet", 4, 10, 8, 6, 1, False, False), _dipnet("dipnet", 2, 44, 38, 16, 4, False, False)],
    "edipv1": [_dipnet("dipnet", 2, 8, 6, 4, 1, True, False), _dipnet("dipnet", 4, 12, 8, 4, 2, True, False),
               _dipnet("edipv1", 3, 44, 32, 16, 4, True, False), _dipnet("edipv1", 4, 44, 32, 16, 4, True, False)],
    # every conv biased: RLFN's layout, read as the family the user names
    "rlfn": [_rlfn("rlfn", 2, 8, 8, 4, 1), _rlfn("rlfn", 3, 12, 10, 4, 2), _rlfn("rlfn-s", 4, 48, 48, 16, 6),
             _rlfn("rlfn-ntire", 2, 46, 48, 16, 4),
             Point("dipnet", 3, {"in_channels": 3, "channels": 12, "mid_channels": 8, "esa_channels": 4, "num_blocks": 2,
                                 "bias": True, "block_bias": True}, named="dipnet")],
    "efdn": [_efdn(2, 8), _efdn(3, 12), _efdn(4, 16, in_channels=1), _efdn(4, 48)],
    "span": [_span(2, 8, 8, 1), _span(3, 12, 6, 2), _span(4, 28, 20, 6)],
    "dipnet-slim-v2": [_slim(2, 8, 6, 4, 1), _slim(3, 12, 12, 4, 2), _slim(4, 8, 8, 6, 1, in_channels=1),
                       _slim(4, 32, 32, 16, 4)],
    "ddistill-sr": [_ddistill(2, 16, 1, 4, True), _ddistill(3, 12, 2, 4, False), _ddistill(4, 16, 1, 2, False),
                    _ddistill(4, 16, 2, 4, True)],
}
POINTS = [pytest.param(layout, point, id=f"{layout}:{point.id}") for layout, points in GRIDS.items() for point in points]
FIRST = [pytest.param(layout, points[0], id=layout) for layout, points in GRIDS.items()]

# Per layout: a tensor inside the last block (its shape carries no hyperparameter) and one that is
# only a bias, so breaking either leaves the layout recognisable and the detector must name it.
PROBES = {
    "rfdn": ("B{n}.c5.weight", "B{n}.cca.conv_du.2.bias"),
    "e-rfdn": ("B{n}.c5.weight", "B{n}.esa.conv4.bias"),
    "imdn": ("IMDB{n}.c5.weight", "IMDB{n}.cca.conv_du.2.bias"),
    "dipnet": ("block_{n}.c5.weight", "block_{n}.esa.conv4.bias"),
    "edipv1": ("block_{n}.c5.weight", "block_{n}.esa.conv4.bias"),
    "ddistill-sr": ("B{n}.c5.weight", "B{n}.esa.conv4.bias"),
    "rlfn": ("block_{n}.c5.weight", "block_{n}.esa.conv4.bias"),
    "efdn": ("cells.3.fuse.weight", "cells.3.att.conv4.bias"),  # four cells, always
    "span": ("block_{n}.c2_r.eval_conv.weight", "block_{n}.c3_r.eval_conv.bias"),
    "dipnet-slim-v2": ("block_{n}.c5.weight", "block_{n}.esa.conv3.eval_conv.bias"),
}


def official_layout(layout: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """distillsr's state dict under the official repository's names (the inverse of the detector).

    Every family's module names are the official ones (``../shared/reference/keys``); only
    Zheng222/IMDN saves its DataParallel wrapper, so every IMDN key carries ``module.``.
    """
    prefix = "module." if layout == "imdn" else ""
    return {f"{prefix}{name}": tensor.clone() for name, tensor in state.items()}


def build(point: Point, seed: int = 0) -> torch.nn.Module:
    """The zoo network with every weight, bias and BN statistic random (no tensor hides at a default)."""
    return randomise(get_entry(point.model).build(point.scale, **point.kwargs), seed=seed, std=0.1).eval()


def save(state: dict[str, torch.Tensor], path: Path) -> Path:
    """``torch.save`` of the state dict as the official files are, or a ``.safetensors`` without metadata."""
    if path.suffix == ".safetensors":
        save_file({name: tensor.contiguous() for name, tensor in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


def assert_round_trip(point: Point, network: torch.nn.Module, path: Path) -> None:
    if point.named is not None:  # a layout two families share: refused until the model is named
        with pytest.raises(DistillsrError, match=r"name the model: -m rlfn[-a-z]* or -m dipnet"):
            read_weights(path)
    loaded = read_weights(path, model=point.named)
    assert (loaded.info.model, loaded.info.scale, loaded.info.kwargs) == (point.model, point.scale, point.kwargs)
    entry = get_entry(point.model)
    assert loaded.info.input_range == entry.input_range
    model = load_or_build(point.named, None, path)
    assert (model.name, model.scale, model.input_range) == (point.model, point.scale, entry.input_range)
    assert model.metadata["kwargs"] == {**entry.defaults, **point.kwargs}
    x = torch.rand(1, point.kwargs["in_channels"], SIDE, SIDE + 1, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, actual = network(x), model.network(x)
    assert expected.shape == (1, point.kwargs["in_channels"], SIDE * point.scale, (SIDE + 1) * point.scale)
    assert expected.std() > 0  # a constant output would match whatever the weights were
    assert torch.equal(actual, expected)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("layout,point", POINTS)
def test_a_zoo_model_in_the_official_layout_comes_back_the_same(tmp_path, layout, point, suffix):
    network = build(point)
    path = save(official_layout(layout, network.state_dict()), tmp_path / f"weights{suffix}")
    assert_round_trip(point, network, path)


WRAPPINGS = {
    "module.": lambda state: {f"module.{k}": v for k, v in state.items()},  # DataParallel
    "params_ema": lambda state: {"params_ema": state, "params": {k: torch.zeros_like(v) for k, v in state.items()}},
    "state_dict": lambda state: {"state_dict": state, "epoch": 7},
}


@pytest.mark.parametrize("wrapping", list(WRAPPINGS))
@pytest.mark.parametrize("layout,point", FIRST)
def test_wrapped_and_prefixed_files_come_back_the_same(tmp_path, layout, point, wrapping):
    """BasicSR (``params_ema`` before ``params``), Lightning-style ``state_dict`` and DataParallel wrappers."""
    network = build(point, seed=1)
    state = official_layout(layout, network.state_dict())
    if wrapping == "module." and layout == "imdn":
        state = {k.removeprefix("module."): v for k, v in state.items()}
    assert_round_trip(point, network, save(WRAPPINGS[wrapping](state), tmp_path / "wrapped.pth"))


def _broken(layout: str, point: Point, how: str) -> tuple[dict[str, torch.Tensor], str]:
    """The official state dict with one tensor re-shaped, dropped or added, and that tensor's name."""
    state = official_layout(layout, build(point).state_dict())
    prefix = "module." if layout == "imdn" else ""
    shaped, bias = (prefix + probe.format(n=point.kwargs.get("num_blocks")) for probe in PROBES[layout])
    assert shaped in state and bias in state
    if how == "shape":
        state[shaped] = torch.zeros(*state[shaped].shape[:-2], 2, 2)
        return state, shaped
    if how == "missing":
        del state[bias]
        return state, bias
    state[f"{prefix}tail.extra.weight"] = torch.zeros(3)
    return state, f"{prefix}tail.extra.weight"


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("how", ["shape", "missing", "extra"])
@pytest.mark.parametrize("layout,point", FIRST)
def test_one_wrong_tensor_is_refused_naming_the_file_and_the_tensor(tmp_path, layout, point, how, suffix):
    state, culprit = _broken(layout, point, how)
    path = save(state, tmp_path / f"broken{suffix}")
    name = re.escape(culprit.removeprefix("module."))
    kind = {"shape": r"1 shape mismatch\(es\) \(checkpoint vs model: ", "missing": r"1 missing tensor\(s\) \(",
            "extra": r"1 unexpected tensor\(s\) \("}[how]
    with pytest.raises(DistillsrError) as caught:
        load_or_build(None, None, path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: recognised as ")
    assert re.search(kind + name + (r" \[[0-9,]+,2,2\] vs \[" if how == "shape" else r"\)"), message), message
    assert f"{point.model} x{point.scale}" in message


@pytest.mark.parametrize("layout,point", FIRST)
def test_a_named_model_takes_a_file_that_does_not_fit_to_its_strict_load(tmp_path, layout, point):
    """Naming the model and scale keeps the old way in (a stage with ``strict: false`` starts from the
    tensors that fit); the strict load of the named model still refuses the file."""
    state, culprit = _broken(layout, point, "shape")
    path = save(state, tmp_path / "broken.pth")
    loaded = read_weights(path, model=point.model, scale=point.scale)
    assert loaded.info.provenance["layout"] == f"{point.model} state dict (named by the user)"
    assert torch.equal(loaded.state_dict[culprit], state[culprit])
    with pytest.raises(DistillsrError, match=rf"weights do not fit {re.escape(point.model)} x{point.scale}: "):
        load_or_build(point.model, point.scale, path)


@pytest.mark.parametrize("attention,residual", [("esa", True), ("cca", False)])
def test_the_block_residual_is_not_in_the_tensors_and_is_set_from_the_attention(tmp_path, attention, residual):
    """Pinned, because it cannot be read: the released ESA file has no block residual, the paper's CCA
    models have one; a bare state dict of the other combination reads back as the published one."""
    point = Point("e-rfdn" if attention == "esa" else "rfdn", 2,
                  {"in_channels": 3, "channels": 8, "num_blocks": 1, "attention": attention, "block_residual": residual})
    network = build(point)
    path = save(official_layout("rfdn", network.state_dict()), tmp_path / "residual.pth")
    loaded = read_weights(path)
    assert loaded.info.kwargs["block_residual"] is (not residual)
    x = torch.rand(1, 3, SIDE, SIDE)
    with torch.no_grad():
        assert not torch.allclose(load_or_build(None, None, path).network(x), network(x))


@pytest.mark.parametrize(
    "channels,reduction,read",
    [(16, 4, 4), (16, 2, 2), (10, 4, 4), (10, 5, 4), (8, 16, 8)],
    ids=["paper", "r2", "floor-division", "same-width-as-4", "squeeze-floor"],
)
def test_the_cca_reduction_reads_back_as_one_that_builds_the_same_network(tmp_path, channels, reduction, read):
    """Several reductions give one squeeze width; the paper's 4 is preferred, otherwise one that fits."""
    kwargs = {"in_channels": 3, "channels": channels, "num_blocks": 1, "attention": "cca", "block_residual": True}
    network = build(Point("rfdn", 3, {**kwargs, "cca_reduction": reduction}))
    path = save(official_layout("rfdn", network.state_dict()), tmp_path / "cca.pth")
    assert read_weights(path).info.kwargs["cca_reduction"] == read
    x = torch.rand(1, 3, 9, 8)
    with torch.no_grad():
        assert torch.equal(load_or_build(None, None, path).network(x), network(x))


def test_a_squeeze_width_no_reduction_gives_is_named(tmp_path):
    state = official_layout("rfdn", build(_rfdn(2, 8, 1, 4)).state_dict())
    state["B1.cca.conv_du.0.weight"] = torch.zeros(20, 8, 1, 1)  # wider than the channels it squeezes
    path = save(state, tmp_path / "wide.pth")
    with pytest.raises(DistillsrError, match=r"wide\.pth: .*B1\.cca\.conv_du\.0\.weight \[20,8,1,1\] vs \[2,8,1,1\]"):
        read_weights(path)
