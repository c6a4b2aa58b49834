"""distillsr.checkpoints.official.registry: each family's layout goes to its own detector; garbage to None."""

from __future__ import annotations

import re

import pytest
import torch

from distillsr.checkpoints.official.registry import detect_official
from distillsr.models.zoo import get_entry
from distillsr.models.ddistill import DDistillSR
from distillsr.models.dipnet import DIPNet
from distillsr.models.dipnet_slim import DIPNetSlimV2
from distillsr.models.edsr import EDSR
from distillsr.models.efdn import EFDN
from distillsr.models.imdn import IMDN
from distillsr.models.rfdn import RFDN
from distillsr.models.rlfn import RLFN
from distillsr.models.span import SPAN


def _prefixed(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"module.{k}": v for k, v in network.state_dict().items()}


# Small networks of each family in their official layouts, and what they must be recognised as.
FAMILIES = {
    "imdn": (lambda: _prefixed(IMDN(scale=2, channels=16, num_blocks=2)), "imdn", 2,
             {"in_channels": 3, "channels": 16, "num_blocks": 2}),
    "e-rfdn": (lambda: RFDN(scale=4, channels=16, num_blocks=2, attention="esa").state_dict(), "e-rfdn", 4,
               {"in_channels": 3, "channels": 16, "num_blocks": 2, "attention": "esa", "block_residual": False}),
    "rfdn": (lambda: RFDN(scale=3, channels=16, num_blocks=3, attention="cca", cca_reduction=4).state_dict(), "rfdn", 3,
             {"in_channels": 3, "channels": 16, "num_blocks": 3, "attention": "cca", "block_residual": True,
              "cca_reduction": 4}),
    "ddistill-sr": (lambda: DDistillSR(scale=2, channels=16, num_blocks=1, fusion_rank=4, deploy=True).state_dict(),
                    "ddistill-sr", 2, {"in_channels": 3, "channels": 16, "num_blocks": 1, "fusion_rank": 4, "deploy": True}),
    "dipnet": (lambda: _prefixed(DIPNet(scale=3, channels=12, mid_channels=8, esa_channels=4, num_blocks=2)), "dipnet", 3,
               {"in_channels": 3, "channels": 12, "mid_channels": 8, "esa_channels": 4, "num_blocks": 2,
                "bias": False, "block_bias": False}),
    "efdn": (lambda: EFDN(scale=2, channels=8).state_dict(), "efdn", 2,
             {"in_channels": 3, "channels": 8, "deploy": True}),
    "span": (lambda: SPAN(scale=3, channels=8, cat_channels=6, num_blocks=2).state_dict(), "span", 3,
             {"in_channels": 3, "channels": 8, "cat_channels": 6, "num_blocks": 2, "deploy": True}),
    "dipnet-slim-v2": (lambda: DIPNetSlimV2(scale=4, channels=8, mid_channels=6, esa_channels=4, num_blocks=2).state_dict(),
                       "dipnet-slim-v2", 4, {"in_channels": 3, "channels": 8, "mid_channels": 6, "esa_channels": 4,
                                             "num_blocks": 2, "deploy": True}),
}
# A tensor per family whose last dimension carries no hyperparameter (a 1x1 conv's weight).
ONE_BY_ONE = {"efdn": "cells.0.fuse.weight", "span": "conv_cat.weight"}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_is_recognised_by_its_own_detector(family):
    make, model, scale, kwargs = FAMILIES[family]
    state = make()
    conversion = detect_official(state)
    assert conversion is not None
    assert (conversion.model, conversion.scale, conversion.kwargs) == (model, scale, kwargs)
    assert {k.removeprefix("module.") for k in state} == set(conversion.state_dict)
    assert conversion.input_range == (255.0 if model == "e-rfdn" else 1.0)
    assert conversion.input_range == get_entry(model).input_range


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"weight": torch.zeros(3, 3)},
        {"fea_conv.weight": torch.zeros(8, 3, 3, 3)},  # a shared first name and nothing else
        {"conv_1.weight": torch.zeros(8, 3, 3, 3), "upsampler.0.weight": torch.zeros(12, 8, 3, 3)},
    ],
    ids=["empty", "one-tensor", "fea_conv-only", "dipnet-names-only"],
)
def test_garbage_is_none(state):
    assert detect_official(state) is None


def test_a_model_of_no_official_family_is_none():
    assert detect_official(EDSR(scale=2, num_blocks=1, channels=8).state_dict()) is None


@pytest.mark.parametrize("family", list(FAMILIES))
def test_one_tensor_of_the_wrong_shape_is_refused_by_every_family_naming_it(family):
    from distillsr.checkpoints.official.conversion import LayoutMismatch

    state = FAMILIES[family][0]()
    key = ONE_BY_ONE.get(family) or next(k for k in state if k.endswith(".c5.weight"))
    state[key] = torch.zeros(*state[key].shape[:-1], 3)
    name = re.escape(key.removeprefix("module."))
    with pytest.raises(LayoutMismatch, match=rf"1 shape mismatch\(es\) \(checkpoint vs model: {name} \[[0-9,]+,3\] vs "):
        detect_official(state)


def test_a_mismatch_in_one_family_does_not_hide_an_exact_match_in_another(monkeypatch):
    from distillsr.checkpoints.official import registry
    from distillsr.checkpoints.official.conversion import Conversion, LayoutMismatch

    def refuses(state):
        raise LayoutMismatch("near miss")

    exact = Conversion("exact", 2)
    monkeypatch.setattr(registry, "_detectors", lambda: (refuses, lambda state: exact))
    assert detect_official({"x": torch.zeros(1)}) is exact
    monkeypatch.setattr(registry, "_detectors", lambda: (lambda state: None, refuses))
    with pytest.raises(LayoutMismatch, match="near miss"):
        detect_official({"x": torch.zeros(1)})


@pytest.mark.parametrize("family", ["imdn", "e-rfdn", "rfdn"])
def test_an_upsampler_of_no_pixel_shuffle_width_is_rejected(family):
    state = FAMILIES[family][0]()
    key = next(k for k in state if k.endswith("upsampler.0.weight"))
    state[key] = torch.zeros(7, *state[key].shape[1:])
    assert detect_official(state) is None


def test_detectors_are_tried_in_order_and_the_first_answer_wins(monkeypatch):
    from distillsr.checkpoints.official import registry
    from distillsr.checkpoints.official.conversion import Conversion

    calls: list[str] = []

    def detector(name: str, answer: Conversion | None):
        def detect(state):
            calls.append(name)
            return answer

        return detect

    first, second = Conversion("first", 2), Conversion("second", 2)
    monkeypatch.setattr(registry, "_detectors", lambda: (detector("a", None), detector("b", first), detector("c", second)))
    assert detect_official({"x": torch.zeros(1)}) is first
    assert calls == ["a", "b"]


def test_the_registry_lists_all_seven_layouts():
    from distillsr.checkpoints.official import ddistill, dipnet, dipnet_slim, efdn, imdn, registry, rfdn, span

    assert registry.layouts() == (ddistill, dipnet, imdn, rfdn, efdn, span, dipnet_slim)
    assert all(layout.REQUIRED and callable(layout.detect) for layout in registry.layouts())


def test_the_shared_checks_run_once_before_any_detector(monkeypatch):
    """A detector sees a non-empty dict of tensors without ``module.``; anything else reaches none of them."""
    from distillsr.checkpoints.official import registry

    seen = []
    monkeypatch.setattr(registry, "_detectors", lambda: (lambda state: seen.append(state),))
    for unusable in ({}, [], {"x": 1.0}, {"x": torch.zeros(1), "y": "text"}):
        assert detect_official(unusable) is None
    assert seen == []
    assert detect_official({"module.a": torch.zeros(1), "module.b": torch.ones(1)}) is None
    assert [list(state) for state in seen] == [["a", "b"]]


def test_the_rlfn_layout_is_ambiguous_with_both_readings():
    from distillsr.checkpoints.official.conversion import AmbiguousLayout

    state = RLFN(scale=2, channels=8, mid_channels=6, esa_channels=4, num_blocks=1).state_dict()
    with pytest.raises(AmbiguousLayout) as caught:
        detect_official(state)
    ambiguity = caught.value
    assert ambiguity.options == ["-m rlfn", "-m dipnet"]
    assert "input 0-255" in str(ambiguity) and "input 0-1" in str(ambiguity) and "\n" not in str(ambiguity)
    as_rlfn, as_dipnet = ambiguity.choose("rlfn"), ambiguity.choose("dipnet")
    assert (as_rlfn.model, as_rlfn.input_range, as_rlfn.scale) == ("rlfn", 255.0, 2)
    assert as_rlfn.kwargs == {"in_channels": 3, "channels": 8, "mid_channels": 6, "esa_channels": 4, "num_blocks": 1}
    assert (as_dipnet.model, as_dipnet.input_range) == ("dipnet", 1.0)
    assert as_dipnet.kwargs["bias"] and as_dipnet.kwargs["block_bias"]
    assert ambiguity.choose("rlfn-s").model == "rlfn-s"  # a sibling of the family builds the same network
    assert ambiguity.choose("imdn") is None


def test_an_ambiguity_does_not_hide_an_exact_match_and_outranks_a_mismatch(monkeypatch):
    from distillsr.checkpoints.official import registry
    from distillsr.checkpoints.official.conversion import AmbiguousLayout, Conversion, LayoutMismatch

    def ambiguous(state):
        raise AmbiguousLayout("a layout", ((("a",), Conversion("a", 2)), (("b",), Conversion("b", 2))), "the range")

    def refuses(state):
        raise LayoutMismatch("near miss")

    exact = Conversion("exact", 2)
    monkeypatch.setattr(registry, "_detectors", lambda: (ambiguous, lambda state: exact))
    assert detect_official({"x": torch.zeros(1)}) is exact
    monkeypatch.setattr(registry, "_detectors", lambda: (refuses, ambiguous))
    with pytest.raises(AmbiguousLayout, match="a layout"):
        detect_official({"x": torch.zeros(1)})


def test_rfdn_names_with_scalar_tensors_are_none_not_an_exception():
    state = FAMILIES["rfdn"][0]()
    state["fea_conv.weight"] = torch.tensor(0.0)
    assert detect_official(state) is None
