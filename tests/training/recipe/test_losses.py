"""Loss terms: types, BasicSR spellings, and options that apply to one type only."""

from __future__ import annotations

import pytest

from distillsr.training.recipe import ConfigError, PixelLossConfig


def test_loss_terms(minimal, parse, error_of):
    text = minimal.replace(
        "    iterations: 1000",
        "    iterations: 1000\n    losses: [{type: charbonnier, eps: 1.0e-6}, {type: MSELoss, loss_weight: 0.5}]",
    )
    charbonnier, l2 = parse(text).stages[0].losses
    assert (charbonnier.type, charbonnier.eps, charbonnier.weight) == ("charbonnier", 1e-6, 1.0)
    assert (l2.type, l2.weight) == ("l2", 0.5)
    message = error_of(minimal.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{type: l3}]"))
    assert "stages.0.losses.0.type" in message and "l1, l2, charbonnier" in message
    assert "'type'" in error_of(
        minimal.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{typ: l1}]")
    )
    assert "charbonnier" in error_of(
        minimal.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{type: l1, eps: 1}]")
    )


def test_loss_checks_in_python():
    assert PixelLossConfig(type="charbonnier", eps=1e-6).eps == 1e-6
    with pytest.raises(ConfigError, match="weight: must be zero or more"):
        PixelLossConfig(type="l1", weight=-1)
    with pytest.raises(ConfigError, match="eps: applies only to charbonnier"):
        PixelLossConfig(type="l2", eps=0.5)
