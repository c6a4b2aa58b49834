"""``distillsr upscale``: which files, where they go, pixels kept right, and a batch that survives
bad files. Images are real photographs (scikit-image's bundled ones, cropped small, and Set5);
the model is the official DIPNet x4 when ``../shared`` has it, else a small random DIPNet."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from support import SHARED, official_weights, require_shared
from PIL import Image, ImageCms
from skimage import data

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.cli import main
from distillsr.imaging.io import read_image, write_image
from distillsr.models.zoo import get_entry

SUMMARY_OK = "0 failed"
BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


def astronaut(height: int = 48, width: int = 64) -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[100 : 100 + height, 200 : 200 + width])


def camera(height: int = 48, width: int = 64) -> np.ndarray:
    return np.ascontiguousarray(data.camera()[120 : 120 + height, 200 : 200 + width])


def coffee(height: int = 48, width: int = 64) -> np.ndarray:
    return np.ascontiguousarray(data.coffee()[150 : 150 + height, 250 : 250 + width])


@pytest.fixture(scope="module")
def x4_model(tmp_path_factory) -> str:
    """The official DIPNet x4 file when present, else a small random DIPNet x4 checkpoint."""
    official = SHARED / "weights" / "official" / "dipnet" / "DIPNet.pth"
    if official.is_file():
        return str(official)
    entry = get_entry("dipnet")
    kwargs = {**entry.defaults, "channels": 12, "mid_channels": 8}
    network = entry.build(4, **kwargs)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
    path = tmp_path_factory.mktemp("model") / "tiny_dipnet_x4.safetensors"
    save_checkpoint(path, network.state_dict(), CheckpointInfo("dipnet", 4, kwargs, form="deploy"))
    return str(path)


def upscale(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command in this process (fast: torch is imported once) and capture its output."""
    code = main(["upscale", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(path: Path, pixels: np.ndarray, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)
    return path


# --------------------------------------------------------------------------------------------------
# Which files, where outputs go
# --------------------------------------------------------------------------------------------------


def test_single_file_gets_the_models_own_scale(tmp_path, capsys, x4_model):
    source = save(tmp_path / "a.png", astronaut())
    code, out, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-t", "0", "-q")
    assert code == 0, err
    assert out.strip() == "1 upscaled, 0 skipped (exists), 0 failed"
    result = read_image(tmp_path / "out" / "a.png")
    assert result.shape == (192, 256, 3) and result.dtype == np.uint8


def test_folder_lists_direct_images_and_recursion_keeps_subfolders(tmp_path, capsys):
    save(tmp_path / "in" / "a.png", astronaut())
    save(tmp_path / "in" / "trip" / "b.jpg", coffee())
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    save(tmp_path / "in" / ".hidden.png", astronaut())
    code, out, err = upscale(capsys, "-i", str(tmp_path / "in"), "-o", str(tmp_path / "flat"), *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*")) == ["a.png"]
    code, out, err = upscale(capsys, "-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "deep"), *BICUBIC_X2)
    assert code == 0, err
    assert out.startswith("2 upscaled")
    assert read_image(tmp_path / "deep" / "trip" / "b.png").shape == (96, 128, 3)


def test_quoted_globs_are_expanded_here(tmp_path, capsys):
    save(tmp_path / "in" / "a.png", astronaut())
    save(tmp_path / "in" / "b.jpg", coffee())
    save(tmp_path / "in" / "sub" / "c.jpg", coffee())
    code, _, err = upscale(capsys, "-i", str(tmp_path / "in" / "*.jpg"), "-o", str(tmp_path / "one"), *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "one").rglob("*.*")) == ["b.png"]
    deep = str(tmp_path / "in" / "**" / "*.jpg")
    code, _, err = upscale(capsys, "-i", deep, "-o", str(tmp_path / "all"), *BICUBIC_X2)
    assert code == 0, err
    assert (tmp_path / "all" / "b.png").is_file() and (tmp_path / "all" / "sub" / "c.png").is_file()


def test_an_output_folder_inside_an_input_folder_is_not_read_back(tmp_path, capsys):
    save(tmp_path / "in" / "a.png", astronaut())
    args = ("-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "in" / "up"), *BICUBIC_X2)
    assert upscale(capsys, *args)[1].startswith("1 upscaled")
    code, out, _ = upscale(capsys, *args, "--overwrite")  # a rerun: up/a.png is not an input now
    assert code == 0 and out.startswith("1 upscaled")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == ["in/a.png", "in/up/a.png"]


def test_a_folder_without_direct_images_hints_at_recursion(tmp_path, capsys):
    save(tmp_path / "in" / "sub" / "a.png", astronaut())
    code, _, err = upscale(capsys, "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1
    assert f"note: {tmp_path / 'in'}: no images found (use -r to include subfolders)" in err
    assert "distillsr: error: no input images found (use -r to search subfolders)" in err


def test_several_inputs_and_duplicates_are_upscaled_once(tmp_path, capsys):
    a = save(tmp_path / "in" / "a.png", astronaut())
    code, out, err = upscale(capsys, "-i", str(a), str(tmp_path / "in"), "-i", str(tmp_path / "in" / "*.png"),
                             "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    assert out.startswith("1 upscaled")


def test_suffix_and_formats_name_the_outputs(tmp_path, capsys):
    inputs = [save(tmp_path / "in" / "a.png", astronaut()), save(tmp_path / "in" / "b.jpeg", coffee()),
              save(tmp_path / "in" / "c.bmp", astronaut()), save(tmp_path / "in" / "d.gif", coffee())]
    folder = str(tmp_path / "in")
    code, _, err = upscale(capsys, "-i", folder, "-o", str(tmp_path / "jpg"), "--suffix", "_x2", "--format", "jpg",
                           *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "jpg").iterdir()) == ["a_x2.jpg", "b_x2.jpg", "c_x2.jpg", "d_x2.jpg"]
    with Image.open(tmp_path / "jpg" / "a_x2.jpg") as image:
        assert image.format == "JPEG" and image.size == (128, 96)
    code, _, err = upscale(capsys, "-i", *map(str, inputs), "-o", str(tmp_path / "same"), "--ext", "auto", *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "same").iterdir()) == ["a.png", "b.jpeg", "c.bmp", "d.png"]
    with Image.open(tmp_path / "same" / "c.bmp") as image:
        assert image.format == "BMP"
    assert upscale(capsys, "-i", str(inputs[0]), "-o", str(tmp_path / "webp"), "--format", "webp", *BICUBIC_X2)[0] == 0
    with Image.open(tmp_path / "webp" / "a.webp") as image:
        assert image.format == "WEBP"


def test_lower_jpeg_quality_gives_a_smaller_file(tmp_path, capsys):
    source = str(save(tmp_path / "a.png", astronaut()))
    for quality in ("30", "95"):
        args = ("-i", source, "-o", str(tmp_path / quality), "--format", "jpg", "--quality", quality)
        assert upscale(capsys, *args, *BICUBIC_X2)[0] == 0
    assert (tmp_path / "30" / "a.jpg").stat().st_size < 0.7 * (tmp_path / "95" / "a.jpg").stat().st_size


# --------------------------------------------------------------------------------------------------
# Pixels kept right
# --------------------------------------------------------------------------------------------------


def test_grey_stays_grey_through_an_rgb_model(tmp_path, capsys, x4_model):
    source = save(tmp_path / "g.png", camera())
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-t", "0", "-q")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "g.png") as image:
        assert image.mode == "L"
    assert read_image(tmp_path / "out" / "g.png").shape == (192, 256)


def _hard_edge_rgba(edge: int = 32) -> np.ndarray:
    rgba = np.dstack([astronaut(), np.zeros((48, 64), np.uint8)])
    rgba[:, edge:, 3] = 255
    return rgba


def _edge_columns(alpha: np.ndarray) -> np.ndarray:
    """Per row, the first column where alpha reaches half."""
    return np.argmax(alpha >= 128, axis=1)


@pytest.mark.parametrize("mode", ["bicubic", "model"])
def test_alpha_is_kept_where_it_was(tmp_path, capsys, mode):
    model = official_weights("dipnet", "DIPNet.pth")  # a trained model: random weights scramble alpha
    source = save(tmp_path / "t.png", _hard_edge_rgba())
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / mode), "-m", str(model),
                           "--alpha", mode, "-t", "0", "-q")
    assert code == 0, err
    result = read_image(tmp_path / mode / "t.png")
    assert result.shape == (192, 256, 4)
    alpha = result[..., 3].astype(int)
    assert np.abs(_edge_columns(alpha) - 128).max() <= 2
    assert alpha[:, :120].max() < 40 and alpha[:, 136:].min() > 215
    colour = result[..., :3].astype(float)  # the colour under the alpha is upscaled too
    assert colour.std() > 20


def test_sixteen_bit_png_stays_sixteen_bit(tmp_path, capsys, rng):
    pixels = astronaut().astype(np.uint16) * 256 + rng.integers(0, 256, (48, 64, 3), dtype=np.uint16)
    write_image(tmp_path / "deep.png", pixels)
    assert read_image(tmp_path / "deep.png").dtype == np.uint16
    code, _, err = upscale(capsys, "-i", str(tmp_path / "deep.png"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "deep.png")
    assert result.dtype == np.uint16 and result.shape == (96, 128, 3)
    assert len(np.unique(result & 0xFF)) > 200  # the low byte carries information, not a copy of the high one
    # where the format cannot hold 16 bits, the output is 8-bit and a note says so
    code, _, err = upscale(capsys, "-i", str(tmp_path / "deep.png"), "-o", str(tmp_path / "jpg"), "--format", "jpg",
                           *BICUBIC_X2)
    assert code == 0, err
    assert any("16-bit result written as 8-bit" in line for line in lines(err, "note:"))
    assert read_image(tmp_path / "jpg" / "deep.jpg").dtype == np.uint8


def test_sixteen_bit_grey_png_stays_sixteen_bit_grey(tmp_path, capsys):
    pixels = camera().astype(np.uint16) * 257 + 3
    write_image(tmp_path / "g16.png", pixels)
    code, _, err = upscale(capsys, "-i", str(tmp_path / "g16.png"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "g16.png")
    assert result.dtype == np.uint16 and result.shape == (96, 128)


def test_exif_rotated_jpeg_comes_out_upright(tmp_path, capsys):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    source = save(tmp_path / "r.jpg", astronaut(), exif=exif, quality=95)
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "r.png")
    assert result.shape == (128, 96, 3)
    with Image.open(tmp_path / "out" / "r.png") as image:
        assert image.getexif().get(0x0112) in (None, 1)  # no orientation left to apply twice


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_icc_profile_is_carried_over(tmp_path, capsys, fmt):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = save(tmp_path / "p.png", astronaut(), icc_profile=profile)
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), "--format", fmt, *BICUBIC_X2)
    assert code == 0, err
    with Image.open(tmp_path / "out" / f"p.{fmt}") as image:
        assert image.info.get("icc_profile") == profile


def test_palette_and_cmyk_inputs_are_converted_with_a_note(tmp_path, capsys):
    gif = tmp_path / "in" / "x.gif"
    gif.parent.mkdir()
    Image.fromarray(astronaut()).quantize(64).save(gif)
    cmyk = tmp_path / "in" / "c.jpg"
    Image.fromarray(coffee()).convert("CMYK").save(cmyk, quality=95)
    code, _, err = upscale(capsys, "-i", str(gif), str(cmyk), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    notes = lines(err, "note:")
    assert f"note: {gif}: palette image converted to RGB" in notes
    assert f"note: {cmyk}: CMYK image converted to RGB" in notes
    assert read_image(tmp_path / "out" / "x.png").shape == (96, 128, 3)
    assert read_image(tmp_path / "out" / "c.png").shape == (96, 128, 3)


def test_alpha_to_jpeg_is_flattened_with_a_note(tmp_path, capsys):
    source = save(tmp_path / "t.png", _hard_edge_rgba())
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), "--format", "jpg", *BICUBIC_X2)
    assert code == 0, err
    assert any("alpha flattened onto white" in line for line in lines(err, "note:"))
    result = read_image(tmp_path / "out" / "t.jpg")
    assert result.shape == (96, 128, 3) and result[:, :56].min() > 240  # transparent half is white


# --------------------------------------------------------------------------------------------------
# Batch behaviour
# --------------------------------------------------------------------------------------------------


def test_corrupt_file_among_good_ones_fails_alone(tmp_path):
    """In a fresh process, as a user runs it: one error line, the rest written, exit code 1."""
    folder = tmp_path / "in"
    good = [save(folder / "a.png", astronaut()), save(folder / "c.jpg", coffee())]
    bad = folder / "b.png"
    bad.write_bytes(good[0].read_bytes()[:300])  # a truncated PNG
    result = subprocess.run(
        [sys.executable, "-m", "distillsr", "upscale", "-i", str(folder), "-o", str(tmp_path / "out"), *BICUBIC_X2],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = lines(result.stderr, "error:")
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: ") and "truncated" in errors[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert result.stdout.strip() == "2 upscaled, 0 skipped (exists), 1 failed"


def test_too_small_image_is_a_clear_error(tmp_path, capsys, x4_model):
    small = save(tmp_path / "in" / "tiny.png", astronaut(10, 12))
    save(tmp_path / "in" / "big.png", astronaut())
    code, out, err = upscale(capsys, "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", x4_model,
                             "-t", "0", "-q")
    assert code == 1
    [error] = lines(err, "error:")
    assert error.startswith(f"error: {small}: ") and "too small" in error and "15 px" in error
    assert out.strip() == "1 upscaled, 0 skipped (exists), 1 failed"


def test_existing_output_is_skipped_unless_overwrite(tmp_path, capsys):
    source = str(save(tmp_path / "a.png", astronaut()))
    target = tmp_path / "out" / "a.png"
    target.parent.mkdir()
    target.write_bytes(b"an older result")
    code, out, _ = upscale(capsys, "-i", source, "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0 and out.startswith("0 upscaled, 1 skipped (exists), 0 failed")
    assert target.read_bytes() == b"an older result"
    code, out, _ = upscale(capsys, "-i", source, "-o", str(tmp_path / "out"), "--overwrite", *BICUBIC_X2)
    assert code == 0 and out.strip() == "1 upscaled, 0 skipped (exists), 0 failed"
    assert read_image(target).shape == (96, 128, 3)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_output_folder_equal_to_input_folder_never_overwrites_inputs(tmp_path, capsys):
    folder = tmp_path / "photos"
    inputs = [save(folder / "a.png", astronaut()), save(folder / "b.jpg", coffee()),
              save(folder / "c.png", coffee()), save(folder / "c.jpg", astronaut())]
    before = {p: checksum(p) for p in inputs}
    in_place = ("-i", str(folder), "-o", str(folder), "--overwrite", *BICUBIC_X2)
    code, out, err = upscale(capsys, *in_place, "--format", "same")
    assert code == 1
    assert len(lines(err, "error:")) == 4
    assert all("would replace an input" in line for line in lines(err, "error:"))
    assert out.strip() == "0 upscaled, 0 skipped (exists), 4 failed"
    # --format png: b.jpg may become b.png beside it; a.png and c.jpg (-> c.png, an input) are refused
    code, out, err = upscale(capsys, *in_place, "--format", "png")
    assert code == 1 and out.strip() == "1 upscaled, 0 skipped (exists), 3 failed"
    assert read_image(folder / "b.png").shape == (96, 128, 3)
    assert {p: checksum(p) for p in inputs} == before


def test_two_inputs_with_one_output_name_do_not_overwrite_each_other(tmp_path, capsys):
    first, second = save(tmp_path / "x" / "a.png", astronaut()), save(tmp_path / "y" / "a.png", coffee())
    code, out, err = upscale(capsys, "-i", str(first), str(second), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1 and out.startswith("1 upscaled")
    [error] = lines(err, "error:")
    assert error.startswith(f"error: {second}: ") and str(first) in error
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "a.png").shape, (96, 128, 3))


def test_nothing_is_written_outside_the_output_folder(tmp_path, capsys):
    save(tmp_path / "in" / "sub" / "a.png", astronaut())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    os.symlink(elsewhere, tmp_path / "out" / "sub")
    code, _, err = upscale(capsys, "-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1 and "outside the output folder" in err
    assert list(elsewhere.iterdir()) == []
    code, _, err = upscale(capsys, "-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "o2"), "--suffix", "/../../x",
                           *BICUBIC_X2)
    assert code == 1 and "path separators" in err


# --------------------------------------------------------------------------------------------------
# Scale and model choice
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "shape"), [("2", (96, 128, 3)), ("3", (144, 192, 3)), ("2.5", (120, 160, 3))])
def test_scale_other_than_the_models_resizes_with_a_note(tmp_path, capsys, x4_model, scale, shape):
    source = save(tmp_path / "a.png", astronaut())
    code, _, err = upscale(capsys, "-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-s", scale,
                           "-t", "0", "-q")
    assert code == 0, err
    assert read_image(tmp_path / "out" / "a.png").shape == shape
    assert any(f"resized to x{scale}" in line for line in lines(err, "note:"))


def test_default_tile_is_auto_and_the_result_matches_untiled(tmp_path, capsys):
    source = str(save(tmp_path / "a.png", astronaut()))
    assert upscale(capsys, "-i", source, "-o", str(tmp_path / "auto"), "-m", "bicubic", "-s", "2", "-q")[0] == 0
    assert upscale(capsys, "-i", source, "-o", str(tmp_path / "off"), *BICUBIC_X2)[0] == 0
    np.testing.assert_array_equal(read_image(tmp_path / "auto" / "a.png"), read_image(tmp_path / "off" / "a.png"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "no model given"),
        (("-m", "e-rfdn"), "needs trained weights"),
        (("-m", "bicubic"), "give -s/--scale"),
        (("-m", "no-such-model", "-w", "x.pth"), "unknown model"),
        (("-m", "model.pth", "--backend", "onnxruntime"), "needs a .onnx model file"),
        (("-m", "model.onnx"), "--backend onnxruntime"),
    ],
)
def test_model_choice_errors_are_one_clear_line(tmp_path, capsys, args, fragment):
    source = str(save(tmp_path / "a.png", astronaut()))
    code, _, err = upscale(capsys, "-i", source, "-o", str(tmp_path / "out"), *args)
    assert code == 1 and "Traceback" not in err
    [error] = lines(err, "distillsr: error:")
    assert fragment in error
    assert not (tmp_path / "out").exists()


def test_zoo_name_with_official_weights(tmp_path, capsys):
    weights = require_shared("weights", "official", "rfdn", "RFDN_AIM.pth")
    source = str(save(tmp_path / "a.png", astronaut()))
    code, _, err = upscale(capsys, "-i", source, "-o", str(tmp_path / "out"), "-m", "e-rfdn", "-w", str(weights),
                           "-t", "0", "-q")
    assert code == 0, err
    assert read_image(tmp_path / "out" / "a.png").shape == (192, 256, 3)
    code, _, err = upscale(capsys, "-i", source, "-o", str(tmp_path / "o2"), "-m", "imdn", "-w", str(weights))
    assert code == 1 and "not imdn" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("-i", "missing.png"), "input 'missing.png' does not exist"),
        (("-i", "*.nothing"), "no input images found"),
        (("-o", "result.png"), "takes a folder"),
    ],
)
def test_input_and_output_errors(tmp_path, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    save(tmp_path / "a.png", astronaut())
    defaults = {"-i": "a.png", "-o": "out"}
    defaults.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, _, err = upscale(capsys, *[x for pair in defaults.items() for x in pair], *BICUBIC_X2)
    assert code == 1
    [error] = lines(err, "distillsr: error:")
    assert fragment in error


# --------------------------------------------------------------------------------------------------
# Real images
# --------------------------------------------------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def test_official_model_beats_bicubic_on_set5(tmp_path, capsys):
    weights = require_shared("weights", "official", "dipnet", "DIPNet.pth")
    low = require_shared("data", "Set5", "LR_bicubic", "X4", "birdx4.png")
    high = read_image(require_shared("data", "Set5", "HR", "bird.png"))
    common = ("-i", str(low), "-t", "0", "-q")
    assert upscale(capsys, *common, "-o", str(tmp_path / "sr"), "-m", str(weights))[0] == 0
    assert upscale(capsys, *common, "-o", str(tmp_path / "bi"), "-m", "bicubic", "-s", "4")[0] == 0
    sr, bi = read_image(tmp_path / "sr" / "birdx4.png"), read_image(tmp_path / "bi" / "birdx4.png")
    hr = high[: sr.shape[0], : sr.shape[1]]
    assert sr.shape == bi.shape == hr.shape
    assert _psnr(sr[4:-4, 4:-4], hr[4:-4, 4:-4]) > _psnr(bi[4:-4, 4:-4], hr[4:-4, 4:-4]) + 1.5
