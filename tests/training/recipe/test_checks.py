"""The shared value checks: they raise ConfigError naming only the field (the reader adds the rest)."""

from __future__ import annotations

import pytest

from distillsr.config import ConfigError
from distillsr.training.recipe.checks import positive, require


def test_require_raises_with_the_field_and_reason():
    require(True, "lr", "never seen")
    with pytest.raises(ConfigError) as caught:
        require(False, "lr", "must be small")
    assert (caught.value.path, caught.value.reason, str(caught.value)) == ("lr", "must be small", "lr: must be small")


@pytest.mark.parametrize("value", [None, 1, 0.5])
def test_positive_accepts_positive_and_unset(value):
    positive(value, "x")


@pytest.mark.parametrize("value", [0, -2, -0.1])
def test_positive_rejects_zero_and_negatives(value):
    with pytest.raises(ConfigError, match=f"^x: must be positive, got {value}$"):
        positive(value, "x")
