"""An in-process run of the tiny training recipe for the stage tests (fixtures: test folders are not packages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.training import training_recipe

from distillsr.stages import load_recipe
from distillsr.training.trainer import TrainingSession

FOLDING_MODEL = ("name: dipnet-student", "kwargs: {channels: 8, mid_channels: 8, expansion: 16, num_blocks: 1}")


@pytest.fixture
def make_session(tmp_path, images) -> Callable[..., TrainingSession]:
    """``make_session(name, *overrides, folding=False, **recipe_options)``: a CPU session of the tiny recipe.

    ``folding``: the train-form DIPNet student (foldable RRRB blocks) instead of IMDN, at 16 px patches.
    """

    def make(name: str = "run", *overrides: str, folding: bool = False, **options) -> TrainingSession:
        if folding:
            options.setdefault("patch", 16)
        path = training_recipe(tmp_path, images, tmp_path / name, **options)
        if folding:
            path.write_text(path.read_text().replace("name: imdn", FOLDING_MODEL[0]).replace(
                "kwargs: {channels: 16, num_blocks: 1}", FOLDING_MODEL[1]))
        return TrainingSession(load_recipe(path, overrides), device="cpu", progress=False)

    return make


@pytest.fixture
def out_of(tmp_path) -> Callable[[str], Path]:
    """The experiment folder of ``make_session(name)``."""
    return lambda name: tmp_path / name
