"""``distillsr.upscale``: arrays and PIL images of every kind come back as the same kind, with the
very pixels ``distillsr upscale`` writes; models are resolved like the command's ``-m``/``-w``."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
import torch
from photos import Photos
from PIL import Image, ImageCms
from support import official_weights

import distillsr
from distillsr import api
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image
from distillsr.models.zoo import build_model

BICUBIC = {"model": "bicubic", "scale": 2, "tile": 0}
BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")
astronaut, camera, coffee = Photos.astronaut, Photos.camera, Photos.coffee


# --------------------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pixels", "shape"),
    [
        (astronaut(), (96, 128, 3)),
        (camera(), (96, 128)),
        (camera()[..., None], (96, 128, 1)),
        (np.dstack([coffee(), np.full((48, 64), 200, np.uint8)]), (96, 128, 4)),
        (astronaut().astype(np.uint16) * 257, (96, 128, 3)),
        (camera().astype(np.uint16) * 257, (96, 128)),
    ],
    ids=["rgb", "grey", "grey-1", "rgba", "rgb16", "grey16"],
)
def test_arrays_come_back_with_their_layout_and_dtype(pixels, shape):
    result = distillsr.upscale(pixels, **BICUBIC)
    assert result.shape == shape and result.dtype == pixels.dtype


def test_scale_other_than_the_models_resizes(x4_model):
    assert distillsr.upscale(astronaut(), x4_model, scale=2.5, tile=0).shape == (120, 160, 3)


def test_alpha_modes_are_passed_to_the_engine(x4_model):
    """The colour is the same either way; only the alpha plane's upscaler differs."""
    rgba = np.dstack([astronaut(), np.zeros((48, 64), np.uint8)])
    rgba[:, 32:, 3] = 255
    bicubic = distillsr.upscale(rgba, x4_model, tile=0, alpha="bicubic")
    model = distillsr.upscale(rgba, x4_model, tile=0, alpha="model")
    np.testing.assert_array_equal(bicubic[..., :3], model[..., :3])
    assert not np.array_equal(bicubic[..., 3], model[..., 3])
    with pytest.raises(DistillsrError, match="alpha mode"):
        distillsr.upscale(rgba, x4_model, tile=0, alpha="nearest")


# --------------------------------------------------------------------------------------------------
# PIL images
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "mode"),
    [
        (Image.fromarray(astronaut()), "RGB"),
        (Image.fromarray(camera()), "L"),
        (Image.fromarray(np.dstack([coffee(), np.full((48, 64), 90, np.uint8)])), "RGBA"),
        (Image.fromarray(camera()).convert("LA"), "LA"),
        (Image.fromarray(camera().astype(np.uint16) * 257), "I;16"),
        (Image.fromarray(astronaut()).quantize(32), "RGB"),
        (Image.fromarray(astronaut()).convert("CMYK"), "RGB"),
        (Image.fromarray(camera() > 128), "L"),
    ],
    ids=["RGB", "L", "RGBA", "LA", "I;16", "P", "CMYK", "1"],
)
def test_pil_images_keep_their_mode_where_sensible(image, mode):
    result = distillsr.upscale(image, **BICUBIC)
    assert isinstance(result, Image.Image)
    assert result.mode == mode and result.size == (128, 96)


def test_pil_sixteen_bit_keeps_its_low_byte():
    values = (camera().astype(np.uint16) * 256) + np.arange(64, dtype=np.uint16)[None, :]
    result = np.asarray(distillsr.upscale(Image.fromarray(values), **BICUBIC))
    assert result.dtype == np.uint16 and len(np.unique(result & 0xFF)) > 64


def test_pil_icc_profile_is_carried_over():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.fromarray(astronaut())
    image.info["icc_profile"] = profile
    assert distillsr.upscale(image, **BICUBIC).info.get("icc_profile") == profile


# --------------------------------------------------------------------------------------------------
# The same pixels as the command
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resized", [False, True], ids=["model-scale", "resized"])
def test_api_matches_the_command_pixel_for_pixel(tmp_path, upscale, x4_model, resized):
    source = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(source)
    model, scale = ("bicubic", 2.5) if resized else (x4_model, None)  # bicubic x3, resized to x2.5
    options = ("-m", model, "-t", "0", "-q") + (("-s", "2.5") if resized else ())
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), *options)
    assert code == 0, err
    written = read_image(tmp_path / "out" / "a.png")
    np.testing.assert_array_equal(distillsr.upscale(read_image(source), model, scale=scale, tile=0), written)
    from_pil = distillsr.upscale(Image.open(source), model, scale=scale, tile=0)
    np.testing.assert_array_equal(np.asarray(from_pil), written)


def test_grey_rgba_and_sixteen_bit_match_the_command(tmp_path, upscale):
    images = {"g.png": camera(), "t.png": np.dstack([coffee(), np.full((48, 64), 77, np.uint8)])}
    for name, pixels in images.items():
        Image.fromarray(pixels).save(tmp_path / name)
    assert upscale("-i", str(tmp_path / "*.png"), "-o", str(tmp_path / "out"), *BICUBIC_X2)[0] == 0
    for name in images:
        expected = read_image(tmp_path / "out" / name)
        np.testing.assert_array_equal(distillsr.upscale(read_image(tmp_path / name), **BICUBIC), expected)


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def test_a_loaded_model_is_upscaled_as_it_is(x4_model):
    """How a model argument is resolved is tested in tests/inference/test_resolve.py; here, that upscale uses it."""
    model = build_model("bicubic", 3)
    assert distillsr.upscale(astronaut(), model, tile=0).shape == (144, 192, 3)
    with pytest.raises(DistillsrError, match="weights go with a zoo model name"):
        distillsr.upscale(astronaut(), model, weights=x4_model)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": "dipnet"}, "needs trained weights"),
        ({"model": "bicubic"}, "give -s/--scale"),
        ({"model": "bicubic", "scale": -2}, "scale must be a positive number"),
        ({"model": 3}, "model must be a zoo name"),
    ],
)
def test_model_errors(kwargs, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        distillsr.upscale(astronaut(), **kwargs)


@pytest.mark.parametrize("image", [astronaut().astype(np.float32), [[1, 2], [3, 4]]], ids=["float", "list"])
def test_unsupported_images_are_refused(image):
    with pytest.raises(DistillsrError):
        distillsr.upscale(image, **BICUBIC)


def test_importing_distillsr_stays_light():
    """`import distillsr` loads no API module; touching a function loads the API but still no torch."""
    code = (
        "import sys, distillsr; print('distillsr.api' in sys.modules); "
        "assert callable(distillsr.upscale) and callable(distillsr.profile); "
        "print('torch' in sys.modules, 'distillsr.api' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False", "True"], result.stderr


# --------------------------------------------------------------------------------------------------
# The public functions: real signatures, load_model, evaluate, profile
# --------------------------------------------------------------------------------------------------

PUBLIC = {
    "upscale": ("image", "model", "weights", "scale", "tile", "device", "precision", "alpha"),
    "load_model": ("model", "weights", "scale", "device"),
    "evaluate": ("model", "data", "weights", "scale", "protocol", "degradation", "seed", "self_ensemble",
                 "save_images", "cache_dir", "cache", "device", "progress", "precision"),
    "profile": ("model", "weights", "scale", "input_size", "device", "runtime", "memory", "repeats", "warmup"),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions_have_real_signatures_hints_and_docs(name):
    import typing

    from PIL import Image as PILImage

    from distillsr.efficiency.report import EfficiencyReport
    from distillsr.evaluation.runner import SetResult
    from distillsr.inference.upscaler import Backend
    from distillsr.models.sr_model import SRModel

    function = getattr(distillsr, name)
    assert function is getattr(api, name) and name in distillsr.__all__
    assert tuple(inspect.signature(function).parameters) == PUBLIC[name]
    names = {"Image": PILImage, "SRModel": SRModel, "EfficiencyReport": EfficiencyReport, "SetResult": SetResult,
             "Backend": Backend}
    hints = typing.get_type_hints(function, localns=names)
    assert set(hints) == {*PUBLIC[name], "return"}  # every parameter is annotated
    assert len(inspect.getdoc(function)) > 200


def test_version_is_the_package_metadata():
    from importlib.metadata import version

    assert distillsr.__version__ == version("distillsr")


def test_load_model_gives_a_fresh_model_each_time():
    first = distillsr.load_model("bicubic", scale=3)
    second = distillsr.load_model("bicubic", scale=3)
    assert first is not second and first.scale == 3
    assert first.network is not second.network


def test_load_model_reads_an_official_file_by_path_or_with_its_name():
    weights = official_weights("rfdn", "RFDN_AIM.pth")
    by_path = distillsr.load_model(weights)
    by_name = distillsr.load_model("e-rfdn", weights=weights, scale=4)
    assert (by_path.name, by_path.scale, by_path.input_range) == ("e-rfdn", 4, 255.0)
    for a, b in zip(by_path.network.state_dict().values(), by_name.network.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(DistillsrError, match="x4 e-rfdn model, but x2"):
        distillsr.load_model(weights, scale=2)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": "dipnet"}, "needs trained weights"),
        ({"model": "bicubic"}, "bicubic has no scale"),
        ({"model": "bicubic", "scale": 2.5}, "positive integer"),
        ({"model": "builtin", "scale": 5}, "no built-in x5 model"),
        ({"model": "builtin", "weights": "x.pth"}, "carry their weights"),
        ({"model": "rfnd"}, "did you mean"),
    ],
)
def test_load_model_errors(kwargs, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        distillsr.load_model(**kwargs)


def test_evaluate_reproduces_the_published_bicubic_row(set5_dir):
    """Bicubic x4 on Set5 is 28.4290 dB / 0.8111 under the classic protocol (scores.md)."""
    [result] = distillsr.evaluate("bicubic", set5_dir / "HR", scale=4)
    assert result.dataset == "HR" or result.dataset == "Set5"
    assert len(result.images) == 5
    assert result.mean.psnr == pytest.approx(28.4290, abs=5e-5)
    assert result.mean.ssim == pytest.approx(0.8111, abs=5e-5)
    assert result.mean.protocol == "classic"


def test_evaluate_checks_the_image_folder_before_any_work(tmp_path, set5_dir, monkeypatch):
    from distillsr.evaluation import runner

    monkeypatch.setattr(runner, "predict", lambda *a, **k: pytest.fail("evaluated before the output check"))
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(DistillsrError, match=f"cannot write SR image folder {blocker / 'out'}"):
        distillsr.evaluate("bicubic", set5_dir / "HR", scale=4, save_images=blocker / "out")


def test_profile_counts_match_the_ntire_table():
    """E-RFDN: 433,448 parameters and 27.03 GMACs at 3x256x256 (NTIRE 2022 ESR table)."""
    report = distillsr.profile("e-rfdn", runtime=False, memory=False)
    assert report.params.total == 433_448
    assert round(report.ops.macs / 1e9, 2) == 27.03
    same = distillsr.profile("e-rfdn", input_size="3x256x256", runtime=False, memory=False)
    assert same.ops.macs == report.ops.macs
    with pytest.raises(DistillsrError, match="input size must look like"):
        distillsr.profile("e-rfdn", input_size=(3, 0, 5), runtime=False, memory=False)
