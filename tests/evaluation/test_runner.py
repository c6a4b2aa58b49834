"""distillsr.evaluation.runner: scores of a model whose output is known, checked by hand.

The model is a nearest-neighbour x2 upscale, so SR is the LR pixels repeated; the benchmark stores
its own LR images, so nothing else (no resize) stands between the files and the expected numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from distillsr.data.eval_sets import EvalSet
from distillsr.errors import DistillsrError
from distillsr.evaluation.runner import ImageResult, SetResult, evaluate_set
from distillsr.metrics.protocols import CLASSIC, NTIRE, Score
from distillsr.models.sr_model import SRModel

SCALE = 2


class Nearest(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x.repeat_interleave(SCALE, dim=-2).repeat_interleave(SCALE, dim=-1)


def _model() -> SRModel:
    return SRModel(Nearest(), "nearest", scale=SCALE)


@pytest.fixture
def bench_dir(tmp_path, rng):
    """``Tiny/HR/{a,b}.png`` (24x26, 20x22) with stored ``Tiny/LR_bicubic/X2/{a,b}x2.png``."""
    root = tmp_path / "Tiny"
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic" / "X2").mkdir(parents=True)
    for name, (h, w) in (("a", (24, 26)), ("b", (20, 22))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "HR" / f"{name}.png")
        lr = rng.integers(0, 256, (h // SCALE, w // SCALE, 3), dtype=np.uint8)
        Image.fromarray(lr).save(root / "LR_bicubic" / "X2" / f"{name}x2.png")
    return root


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64)


def _y(rgb: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr's Y on the 0-255 scale, float64, not rounded (scores.md step 4)."""
    return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(255.0**2 / np.mean((a - b) ** 2))


def _expected(root, name: str, border: int, y: bool) -> tuple[float, float]:
    hr = _load(root / "HR" / f"{name}.png")
    sr = np.repeat(np.repeat(_load(root / "LR_bicubic" / "X2" / f"{name}x2.png"), SCALE, 0), SCALE, 1)
    if y:
        hr, sr = _y(hr), _y(sr)
    hr, sr = hr[border:-border, border:-border], sr[border:-border, border:-border]
    ssim = structural_similarity(
        sr, hr, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=None if y else -1,
    )
    return _psnr(sr, hr), ssim


@pytest.mark.parametrize("protocol", [CLASSIC, NTIRE], ids=["classic", "ntire"])
def test_scores_are_the_hand_computed_ones(bench_dir, protocol):
    result = evaluate_set(_model(), EvalSet(bench_dir, SCALE), protocol, progress=False)
    assert result.dataset == "Tiny" and [r.name for r in result.images] == ["a", "b"]
    classic = protocol is CLASSIC
    border = SCALE if classic else 4
    for image in result.images:
        psnr, ssim = _expected(bench_dir, image.name, border, y=classic)
        assert image.score.protocol == protocol.name
        assert image.score.psnr == pytest.approx(psnr, abs=1e-9)
        assert image.score.ssim == pytest.approx(ssim, abs=1e-9)
    assert result.mean.psnr == pytest.approx(np.mean([r.score.psnr for r in result.images]), abs=1e-12)


def test_to_dict_has_the_report_fields(bench_dir):
    result = evaluate_set(_model(), EvalSet(bench_dir, SCALE), CLASSIC, progress=False)
    data = result.to_dict()
    assert list(data) == ["dataset", "images", "protocol", "precision", "psnr", "ssim", "per_image"]
    assert (data["dataset"], data["images"], data["protocol"], data["precision"]) == ("Tiny", 2, "classic", "fp32")
    assert data["psnr"] == pytest.approx((result.images[0].score.psnr + result.images[1].score.psnr) / 2)
    assert data["ssim"] == pytest.approx((result.images[0].score.ssim + result.images[1].score.ssim) / 2)
    assert data["per_image"] == [
        {"name": r.name, "psnr": r.score.psnr, "ssim": r.score.ssim} for r in result.images
    ]


def test_a_set_result_is_a_mean_of_what_it_holds():
    result = SetResult("Hand", [ImageResult("x", Score(30.0, 0.8, "ntire")), ImageResult("y", Score(40.0, 0.9, "ntire"))])
    assert (result.mean.psnr, result.mean.ssim, result.mean.protocol) == (35.0, pytest.approx(0.85), "ntire")
    with pytest.raises(DistillsrError):
        SetResult("Empty").to_dict()


def test_self_ensemble_runs_eight_views_per_image(bench_dir):
    model = _model()
    plain = evaluate_set(model, EvalSet(bench_dir, SCALE), NTIRE, progress=False)
    assert model.network.calls == 2
    ensembled = evaluate_set(model, EvalSet(bench_dir, SCALE), NTIRE, self_ensemble=True, progress=False)
    assert model.network.calls == 2 + 16
    # nearest upscaling commutes with flips and quarter turns: the same scores
    assert [r.score.psnr for r in ensembled.images] == pytest.approx([r.score.psnr for r in plain.images], abs=1e-9)


def test_saved_images_are_the_quantised_sr_output(bench_dir, tmp_path):
    out = tmp_path / "sr"
    evaluate_set(_model(), EvalSet(bench_dir, SCALE), NTIRE, save_dir=out, progress=False)
    assert sorted(p.name for p in (out / "Tiny").iterdir()) == ["a.png", "b.png"]
    lr = np.asarray(Image.open(bench_dir / "LR_bicubic" / "X2" / "ax2.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(out / "Tiny" / "a.png")), lr.repeat(2, 0).repeat(2, 1))


def test_sixteen_bit_ground_truth_is_saved_as_sixteen_bit(tmp_path, rng):
    from distillsr.imaging.read import read_image
    from distillsr.imaging.resize import imresize
    from distillsr.imaging.write import write_image

    folder = tmp_path / "Deep"
    hr = rng.integers(0, 65536, (24, 24, 3), dtype=np.uint16)
    write_image(folder / "d.png", hr)
    evaluate_set(_model(), EvalSet(folder, SCALE), NTIRE, save_dir=tmp_path / "out", progress=False)
    saved = read_image(tmp_path / "out" / "Deep" / "d.png")
    assert saved.dtype == np.uint16
    np.testing.assert_array_equal(saved, imresize(hr, 1 / SCALE).repeat(2, 0).repeat(2, 1))


def test_a_save_folder_that_would_overwrite_a_stored_lr_input_is_refused(bench_dir):
    """The CLI test covers an HR image; this is a stored LR file, named through the set's name."""
    lr_file = bench_dir / "LR_bicubic" / "X2" / "a.png"
    (bench_dir / "LR_bicubic" / "X2" / "ax2.png").rename(lr_file)
    before = lr_file.read_bytes()
    bench = EvalSet(bench_dir, SCALE, name="X2")
    with pytest.raises(DistillsrError, match=r"refusing to overwrite input image .*a\.png with an SR image"):
        evaluate_set(_model(), bench, NTIRE, save_dir=bench_dir / "LR_bicubic", progress=False)
    assert lr_file.read_bytes() == before
