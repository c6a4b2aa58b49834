"""bench.plots: the two scatter plots are written, with units, settings and every model named."""

from __future__ import annotations

import pytest
from PIL import Image

from distillsr.comparison.plots import (
    _label_offsets,
    psnr_vs_latency,
    psnr_vs_macs,
    write_plots,
)

pytest.importorskip("matplotlib", reason='matplotlib is an optional dependency (pip install "distillsr[plot]")')


def _texts(figure) -> list[str]:
    return [text.get_text() for text in figure.findobj(lambda artist: hasattr(artist, "get_text"))]


def test_both_plots_are_written_as_png(bench_result, tmp_path):
    written = write_plots(bench_result, tmp_path)
    assert [path.name for path in written] == ["psnr_vs_macs.png", "psnr_vs_latency.png"]
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 400
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(("draw", "unit"), [(psnr_vs_macs, "MACs [G]"), (psnr_vs_latency, "Runtime [ms]")])
def test_axes_titles_and_labels_say_what_a_reader_needs(bench_result, draw, unit):
    figure = draw(bench_result)
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["Alpha", "Beta"]
    for axis in axes:
        assert axis.get_xlabel().startswith(unit) and "3x24x24" in axis.get_xlabel()
        assert axis.get_ylabel() == "PSNR [dB] (classic protocol)"
    title = figure._suptitle.get_text()
    assert "Alpha, Beta" in title and "x2" in title and "classic protocol" in title and "fp32" in title and "thread" in title
    texts = _texts(figure)
    for model in ("dipnet", "e-rfdn"):
        assert model in texts  # a label beside its marker
        assert any(text.startswith(f"{model} (") and "K params" in text for text in texts)  # and in the legend
    assert any(text.startswith("bicubic: ") and "dB" in text for text in texts)  # the baseline, named not drawn


def test_labels_of_neighbouring_markers_go_apart():
    offsets = _label_offsets([(0.23, 31.89), (0.23, 31.81), (0.42, 32.16), (0.73, 28.0)])
    assert offsets[0][1] > 0 > offsets[1][1]  # the higher label above, the lower below
    assert offsets[2] == offsets[3] == (9, -3)  # alone: beside the marker
