"""Sample recipes and parse helpers shared by the recipe tests (fixtures: test folders are not packages)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from distillsr.stages import parse_recipe
from distillsr.training.recipe import ConfigError, RecipeConfig

MINIMAL = """\
model:
  name: rfdn
  scale: 4
data:
  train:
    hr_folders: [datasets/DIV2K/DIV2K_train_HR]
stages:
  - kind: train
    iterations: 1000
"""

FULL = """\
name: test
model: {name: ddistill-sr, scale: 4}
data:
  train: {hr_folders: [hr]}
  val: {folders: [set5], every: 100}
stages:
  - kind: train
    iterations: 1000
    optimizer:
      lr: 5.0e-4
    scheduler: {type: multistep, milestones: [500]}
  - kind: reparameterize
"""


@pytest.fixture
def minimal() -> str:
    """The smallest valid recipe: one rfdn x4 training stage, every other key defaulted."""
    return MINIMAL


@pytest.fixture
def full() -> str:
    """A two-stage recipe (train, then fold) of a train-form model, with validation."""
    return FULL


def _parse(text: str, overrides=(), source: str = "recipe.yaml") -> RecipeConfig:
    return parse_recipe(text, source=source, overrides=overrides)


def _error_of(text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as caught:
        _parse(text, overrides)
    message = str(caught.value)
    assert "\n" not in message, "errors are one line"
    assert message.startswith("recipe.yaml"), "errors name the file"
    return message


@pytest.fixture
def parse() -> Callable[..., RecipeConfig]:
    """``parse(text, overrides=())``: the recipe read as ``recipe.yaml``."""
    return _parse


@pytest.fixture
def error_of() -> Callable[..., str]:
    """``error_of(text, overrides=())``: the one-line ConfigError message reading ``text`` raises."""
    return _error_of
