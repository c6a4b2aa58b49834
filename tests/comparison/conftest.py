"""A tiny benchmark, run once per session: two small checkpoints and bicubic on two 2-image sets at x2."""

from __future__ import annotations

from pathlib import Path

import pytest
from comparison.tiny import SCALE, save_small_checkpoint
from support.images import photo, save_image


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("tiny_models")
    return [str(save_small_checkpoint(folder, "dipnet")), str(save_small_checkpoint(folder, "e-rfdn", input_range=255.0)), "bicubic"]


@pytest.fixture(scope="session")
def tiny_sets(tmp_path_factory) -> list[Path]:
    """Two sets of two real-photo crops: ``Alpha/HR`` (named by its parent, as Set5/HR is) and ``Beta``."""
    root = tmp_path_factory.mktemp("sets")
    image = photo(96, 128)
    alpha, beta = root / "Alpha" / "HR", root / "Beta"
    save_image(alpha / "astro.png", image[:40, :48])
    save_image(alpha / "rocket.png", image[40:80, 60:108])
    save_image(beta / "face.png", image[8:44, 30:70])
    save_image(beta / "suit.png", image[50:90, :44])
    return [alpha, beta]


@pytest.fixture(scope="session")
def bench_result(tiny_models, tiny_sets):
    from distillsr.comparison.runner import BenchSettings, run_bench

    settings = BenchSettings(
        models=tuple(tiny_models), data=tuple(tiny_sets), scale=SCALE, device="cpu", input_shape=(1, 3, 24, 24),
        repeats=3, warmup=1, crops=("astro",),
    )
    return run_bench(settings)
