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
    "upscale": ("image", "model", "weights", "scale", "tile", "device", "precision", "alpha", "width"),
    "load_model": ("model", "weights", "scale", "device"),
    "evaluate": ("model", "data", "weights", "scale", "protocol", "degradation", "seed", "self_ensemble",
                 "save_images", "cache_dir", "cache", "device", "progress", "precision", "width", "width_policy"),
    "profile": ("model", "weights", "scale", "input_size", "device", "runtime", "memory", "repeats", "warmup", "width"),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions_have_real_signatures_hints_and_docs(name):
    import typing

    from PIL import Image as PILImage

    from distillsr.efficiency.report import EfficiencyReport
    from distillsr.evaluation.runner import SetResult
    from distillsr.inference.width_policy.costs import DynamicWidths
    from distillsr.inference.upscaler import Backend
    from distillsr.models.sr_model import SRModel

    function = getattr(distillsr, name)
    assert function is getattr(api, name) and name in distillsr.__all__
    assert tuple(inspect.signature(function).parameters) == PUBLIC[name]
    names = {"Image": PILImage, "SRModel": SRModel, "EfficiencyReport": EfficiencyReport, "SetResult": SetResult,
             "Backend": Backend, "DynamicWidths": DynamicWidths}
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


def test_load_model_advises_the_keyword_python_takes():
    """Offline, a zoo name without its cached file: the advice names ``weights=``, not a command's -w."""
    with pytest.raises(DistillsrError, match=r"download \S+ and give weights=FILE$") as error:
        distillsr.load_model("e-rfdn")
    assert "-w/--weights" not in str(error.value)


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


# --------------------------------------------------------------------------------------------------
# width=: a channel-splitting (CSD) model at one of its widths, for one call
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def slim_checkpoint(tmp_path):
    """A tiny random IMDN-CSD x2 checkpoint (widths 1, 0.75, 0.5, 0.25)."""
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint

    kwargs = {"channels": 16, "num_blocks": 1, "cca_reduction": 4}
    save_checkpoint(path := tmp_path / "slim.safetensors", build_model("imdn-csd", 2, **kwargs).network.state_dict(),
                    CheckpointInfo("imdn-csd", 2, kwargs))
    return str(path)


def test_upscale_width_holds_for_that_call_only(slim_checkpoint):
    pixels = astronaut()[:24, :32]
    run = {"tile": 0, "precision": "fp32", "device": "cpu"}
    full = api.upscale(pixels, slim_checkpoint, **run)
    half = api.upscale(pixels, slim_checkpoint, width=0.5, **run)
    assert half.shape == full.shape and np.abs(half.astype(int) - full.astype(int)).max() > 10
    assert np.array_equal(api.upscale(pixels, slim_checkpoint, **run), full), "the cached model kept width 0.5"
    assert np.array_equal(api.upscale(pixels, slim_checkpoint, width=1.0, **run), full)
    loaded = api.load_model(slim_checkpoint)
    loaded.set_width(0.25)  # a loaded model's own width is used, and given back after a call at another
    quarter = api.upscale(pixels, loaded, **run)
    assert np.array_equal(api.upscale(pixels, loaded, width=0.5, **run), half)
    assert loaded.network.width == 0.25 and np.array_equal(api.upscale(pixels, loaded, **run), quarter)


def test_at_width_names_the_width_where_forward_memory_is_cached(slim_checkpoint):
    import torch

    from distillsr.inference.memory_model import model_signature

    model = api.load_model(slim_checkpoint)
    plain = model_signature(model, "fp32", torch.device("cpu"), 3)
    with api.at_width(model, 0.5) as narrow:
        assert narrow.network is model.network and model.network.width == 0.5
        assert "|width 0.5|" in model_signature(narrow, "fp32", torch.device("cpu"), 3) != plain
    assert model.network.width == 1.0 and api.width_of(model) == 1.0 and api.width_of(build_model("imdn", 2)) is None


def test_profile_width_counts_the_parameters_and_macs_of_that_width():
    from distillsr.nn.slimmable import active_parameter_count

    figures = {
        w: distillsr.profile("imdn-csd", scale=2, input_size="3x16x16", runtime=False, memory=False, width=w)
        for w in (1.0, 0.25)
    }
    network = build_model("imdn-csd", 2).network
    assert figures[1.0].params.total == 694_404
    assert figures[0.25].params.total == active_parameter_count(network, 0.25) < 694_404 / 10
    assert figures[0.25].ops.macs < figures[1.0].ops.macs / 10


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda ckpt: api.upscale(astronaut()[:8, :8], "bicubic", scale=2, width=0.5), "bicubic is not a channel-splitting model"),
        (lambda ckpt: api.upscale(astronaut()[:8, :8], ckpt, width="half"), "width must be a number"),
        (lambda ckpt: api.upscale(astronaut()[:8, :8], ckpt, width=0.6), "trained at widths 1, 0.75, 0.5, 0.25, not 0.6"),
        (lambda ckpt: api.profile("e-rfdn", width=0.5), "e-rfdn is not a channel-splitting model"),
        (lambda ckpt: api.evaluate(ckpt, ".", width=0.3), "imdn-csd was trained at widths 1, 0.75, 0.5, 0.25, not 0.3"),
        (lambda ckpt: api.evaluate(ckpt, ".", width=0.5, width_policy="calibrated"), "drop the fixed width"),
        (lambda ckpt: api.evaluate(ckpt, ".", width_policy="smart"), "width_policy must be 'calibrated'"),
        (lambda ckpt: api.evaluate(ckpt, ".", width_policy="calibrated"), "distillsr calibrate"),
    ],
)
def test_width_errors(slim_checkpoint, call, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        call(slim_checkpoint)
