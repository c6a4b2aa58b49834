"""bench.crops: the region is where the models differ most, and every panel is labelled."""

from __future__ import annotations

import numpy as np
import pytest

from distillsr.comparison.crops import choose_region, crop_side, write_crops
from distillsr.comparison.runner import CropPanel, CropSet


def _crop_with_a_difference_at(top: int, left: int, size: int = 64) -> CropSet:
    hr = np.full((size, size, 3), 128, np.uint8)
    other = hr.copy()
    other[top : top + 4, left : left + 4] = 250  # the one place the two models disagree
    noisy_bicubic = np.random.default_rng(0).integers(0, 256, hr.shape, dtype=np.uint8)  # differs everywhere: ignored
    return CropSet("img", "Set", hr, [CropPanel("bicubic", noisy_bicubic, 20.0), CropPanel("a", hr, 30.0),
                                      CropPanel("b", other, 29.0)])


def test_the_window_covers_where_the_models_differ_most():
    top, left, side = choose_region(_crop_with_a_difference_at(40, 10), scale=2, border=0)
    assert side == crop_side(64, 64, 2) == 48
    assert top <= 40 and top + side >= 44 and left <= 10 and left + side >= 14


def test_the_border_the_protocol_does_not_score_is_avoided():
    top, left, side = choose_region(_crop_with_a_difference_at(0, 0), scale=2, border=2)
    assert top >= 2 and left >= 2 and top + side <= 62 and left + side <= 62


def test_a_single_model_shows_its_largest_error():
    crop = _crop_with_a_difference_at(50, 50)
    crop.panels = [crop.panels[2]]  # only "b", which is wrong at (50, 50)
    top, left, side = choose_region(crop, scale=1)
    assert side == 24 and top <= 50 < top + side and left <= 50 < left + side


def test_the_crop_figure_labels_every_panel_with_its_psnr(bench_result, tmp_path):
    pytest.importorskip("matplotlib", reason='matplotlib is an optional dependency (pip install "distillsr[plot]")')
    from distillsr.comparison.crops import crop_figure

    figure = crop_figure(bench_result.crops[0], bench_result)
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles[0].startswith("astro: x ") and titles[1] == "HR (ground truth)"
    for panel, title in zip(bench_result.crops[0].panels, titles[2:]):
        assert title == f"{panel.label}\n{panel.psnr:.2f} dB"
    assert "differ most" in figure._suptitle.get_text() and "Alpha/astro" in figure._suptitle.get_text()
    (path,) = write_crops(bench_result, tmp_path)
    assert path.name == "crops_astro.png" and path.stat().st_size < 300_000
