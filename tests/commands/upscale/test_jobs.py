"""Running the jobs of ``distillsr upscale`` (``commands/upscale/jobs.py``): pixels kept right or
adapted to the output format with a note, one bad file failing alone, existing outputs kept, and
a full or read-only disk stopping the run. The first tests run the command end to end; the rest
call :func:`run_jobs` directly with a bicubic x2 upscaler."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from support import official_weights

from distillsr import api
from distillsr.commands.upscale import jobs
from distillsr.commands.upscale.inputs import Source
from distillsr.commands.upscale.jobs import (
    RunSettings,
    Summary,
    run_jobs,
    systemic_cause,
)
from distillsr.commands.upscale.outputs import Job, OutputOptions, plan_jobs
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image
from distillsr.imaging.write import write_image
from distillsr.inference.session import UpscaleSession
from distillsr.inference.upscaler import Upscaler

BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")


def _edge_columns(alpha: np.ndarray) -> np.ndarray:
    """Per row, the first column where alpha reaches half."""
    return np.argmax(alpha >= 128, axis=1)


# --------------------------------------------------------------------------------------------------
# The command end to end: pixels kept right, formats adapted, one bad file failing alone
# --------------------------------------------------------------------------------------------------


def test_grey_stays_grey_through_an_rgb_model(tmp_path, upscale, photos, x4_model):
    source = photos.save(tmp_path / "g.png", photos.camera())
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-t", "0", "-q")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "g.png") as image:
        assert image.mode == "L"
    assert read_image(tmp_path / "out" / "g.png").shape == (192, 256)


@pytest.mark.parametrize("mode", ["bicubic", "model"])
def test_alpha_is_kept_where_it_was(tmp_path, upscale, photos, mode):
    model = official_weights("dipnet", "DIPNet.pth")  # a trained model: random weights scramble alpha
    source = photos.save(tmp_path / "t.png", photos.hard_edge_rgba())
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / mode), "-m", str(model),
                           "--alpha", mode, "-t", "0", "-q")
    assert code == 0, err
    result = read_image(tmp_path / mode / "t.png")
    assert result.shape == (192, 256, 4)
    alpha = result[..., 3].astype(int)
    assert np.abs(_edge_columns(alpha) - 128).max() <= 2
    assert alpha[:, :120].max() < 40 and alpha[:, 136:].min() > 215
    colour = result[..., :3].astype(float)  # the colour under the alpha is upscaled too
    assert colour.std() > 20


def test_sixteen_bit_png_stays_sixteen_bit(tmp_path, upscale, photos, rng):
    pixels = photos.astronaut().astype(np.uint16) * 256 + rng.integers(0, 256, (48, 64, 3), dtype=np.uint16)
    write_image(tmp_path / "deep.png", pixels)
    assert read_image(tmp_path / "deep.png").dtype == np.uint16
    code, _, err = upscale("-i", str(tmp_path / "deep.png"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "deep.png")
    assert result.dtype == np.uint16 and result.shape == (96, 128, 3)
    assert len(np.unique(result & 0xFF)) > 200  # the low byte carries information, not a copy of the high one
    # where the format cannot hold 16 bits, the output is 8-bit and a note says so
    code, _, err = upscale("-i", str(tmp_path / "deep.png"), "-o", str(tmp_path / "jpg"), "--format", "jpg",
                           *BICUBIC_X2)
    assert code == 0, err
    assert any("16-bit result written as 8-bit" in line for line in upscale.lines(err, "note:"))
    assert read_image(tmp_path / "jpg" / "deep.jpg").dtype == np.uint8


def test_sixteen_bit_grey_png_stays_sixteen_bit_grey(tmp_path, upscale, photos):
    pixels = photos.camera().astype(np.uint16) * 257 + 3
    write_image(tmp_path / "g16.png", pixels)
    code, _, err = upscale("-i", str(tmp_path / "g16.png"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "g16.png")
    assert result.dtype == np.uint16 and result.shape == (96, 128)


def test_exif_rotated_jpeg_comes_out_upright(tmp_path, upscale, photos):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    source = photos.save(tmp_path / "r.jpg", photos.astronaut(), exif=exif, quality=95)
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    result = read_image(tmp_path / "out" / "r.png")
    assert result.shape == (128, 96, 3)
    with Image.open(tmp_path / "out" / "r.png") as image:
        assert image.getexif().get(0x0112) in (None, 1)  # no orientation left to apply twice


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_icc_profile_is_carried_over(tmp_path, upscale, photos, fmt):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = photos.save(tmp_path / "p.png", photos.astronaut(), icc_profile=profile)
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), "--format", fmt, *BICUBIC_X2)
    assert code == 0, err
    with Image.open(tmp_path / "out" / f"p.{fmt}") as image:
        assert image.info.get("icc_profile") == profile


def test_palette_and_cmyk_inputs_are_converted_with_a_note(tmp_path, upscale, photos):
    gif = tmp_path / "in" / "x.gif"
    gif.parent.mkdir()
    Image.fromarray(photos.astronaut()).quantize(64).save(gif)
    cmyk = tmp_path / "in" / "c.jpg"
    Image.fromarray(photos.coffee()).convert("CMYK").save(cmyk, quality=95)
    code, _, err = upscale("-i", str(gif), str(cmyk), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    notes = upscale.lines(err, "note:")
    assert f"note: {gif}: palette image converted to RGB" in notes
    assert f"note: {cmyk}: CMYK image converted to RGB" in notes
    assert read_image(tmp_path / "out" / "x.png").shape == (96, 128, 3)
    assert read_image(tmp_path / "out" / "c.png").shape == (96, 128, 3)


def test_alpha_to_jpeg_is_flattened_with_a_note(tmp_path, upscale, photos):
    source = photos.save(tmp_path / "t.png", photos.hard_edge_rgba())
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), "--format", "jpg", *BICUBIC_X2)
    assert code == 0, err
    assert any("alpha flattened onto white" in line for line in upscale.lines(err, "note:"))
    result = read_image(tmp_path / "out" / "t.jpg")
    assert result.shape == (96, 128, 3) and result[:, :56].min() > 240  # transparent half is white


def test_lower_jpeg_quality_gives_a_smaller_file(tmp_path, upscale, photos):
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    for quality in ("30", "95"):
        args = ("-i", source, "-o", str(tmp_path / quality), "--format", "jpg", "--quality", quality)
        assert upscale(*args, *BICUBIC_X2)[0] == 0
    assert (tmp_path / "30" / "a.jpg").stat().st_size < 0.7 * (tmp_path / "95" / "a.jpg").stat().st_size


def test_corrupt_file_among_good_ones_fails_alone(tmp_path, upscale, photos):
    """In a fresh process, as a user runs it: one error line, the rest written, exit code 1."""
    folder = tmp_path / "in"
    good = [photos.save(folder / "a.png", photos.astronaut()), photos.save(folder / "c.jpg", photos.coffee())]
    bad = folder / "b.png"
    bad.write_bytes(good[0].read_bytes()[:300])  # a truncated PNG
    result = subprocess.run(
        [sys.executable, "-m", "distillsr", "upscale", "-i", str(folder), "-o", str(tmp_path / "out"), *BICUBIC_X2],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = upscale.lines(result.stderr, "error:")
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: ") and "truncated" in errors[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert result.stdout.strip() == "2 upscaled, 0 skipped (exists), 1 failed"


def test_an_image_below_the_models_minimum_is_padded_not_refused(tmp_path, upscale, photos, x4_model):
    """ESA needs 15 px: a 10x12 image is grown by edge replication, run, and cropped back to 40x48,
    with the same pixels the Python API gives (the one SRModel contract)."""
    from distillsr import api
    from distillsr.imaging.read import read_image

    small = photos.astronaut(10, 12)
    photos.save(tmp_path / "in" / "tiny.png", small)
    photos.save(tmp_path / "in" / "big.png", photos.astronaut())
    code, out, err = upscale("-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", x4_model,
                             "-t", "0", "-q")
    assert code == 0, err
    assert out.strip() == "2 upscaled, 0 skipped (exists), 0 failed"
    result = read_image(tmp_path / "out" / "tiny.png")
    assert result.shape == (40, 48, 3)
    assert (result == api.upscale(small, x4_model, tile=None)).all()


def test_existing_output_is_skipped_unless_overwrite(tmp_path, upscale, photos):
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    target = tmp_path / "out" / "a.png"
    target.parent.mkdir()
    target.write_bytes(b"an older result")
    code, out, _ = upscale("-i", source, "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0 and out.startswith("0 upscaled, 1 skipped (exists), 0 failed")
    assert target.read_bytes() == b"an older result"
    code, out, _ = upscale("-i", source, "-o", str(tmp_path / "out"), "--overwrite", *BICUBIC_X2)
    assert code == 0 and out.strip() == "1 upscaled, 0 skipped (exists), 0 failed"
    assert read_image(target).shape == (96, 128, 3)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


# --------------------------------------------------------------------------------------------------
# run_jobs called directly
# --------------------------------------------------------------------------------------------------


class CountingUpscaler(Upscaler):
    """A bicubic x2 upscaler that counts the images it is asked to upscale."""

    def __init__(self, tile: int | str = 0) -> None:
        super().__init__(api.resolve_model("bicubic", scale=2), device="cpu", tile=tile)
        self.calls = 0
        self.memory_counts = 0

    def upscale_array(self, image, *, alpha="bicubic"):
        self.calls += 1
        return super().upscale_array(image, alpha=alpha)

    def forward_memory(self, channels: int):
        self.memory_counts += int(channels not in self._memory)
        return super().forward_memory(channels)


def _four_jobs(tmp_path: Path, photos) -> list[Job]:
    sources = [Source(photos.save(tmp_path / "in" / f"{name}.png", photos.astronaut())) for name in "abcd"]
    return plan_jobs(sources, OutputOptions(tmp_path / "out"))


def _replace_failing_on(monkeypatch, call: int, error_number: int) -> list[str]:
    """``os.replace`` (the atomic write's last step) failing with ``error_number`` on its ``call``-th use."""
    real_replace = os.replace
    targets: list[str] = []

    def replace(source, target, *args, **kwargs):
        targets.append(os.fspath(target))
        if len(targets) == call:
            raise OSError(error_number, os.strerror(error_number), os.fspath(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return targets


def _collect(events: list[tuple[str, str, str]]):
    return lambda kind, name, message: events.append((kind, name, message))


def test_a_full_disk_stops_the_run_at_the_first_failed_write(tmp_path, photos, monkeypatch):
    planned = _four_jobs(tmp_path, photos)
    _replace_failing_on(monkeypatch, 2, errno.ENOSPC)
    upscaler, events = CountingUpscaler(), []
    summary = run_jobs(planned, UpscaleSession(upscaler), RunSettings(OutputOptions(tmp_path / "out")), _collect(events))
    assert upscaler.calls == 2  # c and d were never computed
    assert (summary.upscaled, summary.skipped, summary.failed) == (1, 0, 1)
    assert summary.stopped == (f"cannot write {tmp_path / 'out' / 'b.png'}: No space left on device; "
                               "stopped with 2 image(s) not done")
    assert events == []  # the stop message is the one line about it
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]  # no temporary file left


@pytest.mark.parametrize("error_number", [errno.EROFS, errno.EACCES], ids=["EROFS", "EACCES"])
def test_a_read_only_or_forbidden_folder_stops_the_run_too(tmp_path, photos, monkeypatch, error_number):
    planned = _four_jobs(tmp_path, photos)
    _replace_failing_on(monkeypatch, 1, error_number)
    upscaler = CountingUpscaler()
    summary = run_jobs(planned, UpscaleSession(upscaler), RunSettings(OutputOptions(tmp_path / "out")), _collect([]))
    assert upscaler.calls == 1
    assert summary.stopped.endswith(f"{os.strerror(error_number)}; stopped with 3 image(s) not done")


def test_a_write_error_of_one_file_only_fails_that_file(tmp_path, photos, monkeypatch):
    planned = _four_jobs(tmp_path, photos)
    _replace_failing_on(monkeypatch, 2, errno.EIO)
    upscaler, events = CountingUpscaler(), []
    summary = run_jobs(planned, UpscaleSession(upscaler), RunSettings(OutputOptions(tmp_path / "out")), _collect(events))
    assert upscaler.calls == 4 and summary.stopped is None
    assert str(summary) == "3 upscaled, 0 skipped (exists), 1 failed"
    assert events == [("error", str(tmp_path / "in" / "b.png"),
                       f"cannot write image '{tmp_path / 'out' / 'b.png'}': Input/output error")]


def test_an_unreadable_input_is_not_a_reason_to_stop(tmp_path, photos, monkeypatch):
    planned = _four_jobs(tmp_path, photos)
    real_read = jobs.read_image_with_info

    def read(path):
        if Path(path).name == "a.png":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(jobs, "read_image_with_info", read)
    events = []
    summary = run_jobs(planned, UpscaleSession(CountingUpscaler()), RunSettings(OutputOptions(tmp_path / "out")), _collect(events))
    assert summary == Summary(upscaled=3, failed=1)
    assert events == [("error", str(tmp_path / "in" / "a.png"), "Permission denied")]


def test_refused_jobs_are_reported_without_reading_and_existing_outputs_skipped(tmp_path, photos):
    planned = _four_jobs(tmp_path, photos)
    planned[0] = Job(planned[0].source, planned[0].name, planned[0].target, "its output would replace an input")
    (tmp_path / "out").mkdir()
    planned[1].target.write_bytes(b"kept")
    upscaler, events = CountingUpscaler(), []
    summary = run_jobs(planned, UpscaleSession(upscaler), RunSettings(OutputOptions(tmp_path / "out")), _collect(events))
    assert upscaler.calls == 2
    assert summary == Summary(upscaled=2, skipped=1, failed=1)
    assert events == [("error", planned[0].name, "its output would replace an input")]
    assert planned[1].target.read_bytes() == b"kept"


def test_the_forward_memory_is_counted_once_per_run(tmp_path, photos):
    upscaler = CountingUpscaler(tile="auto")
    summary = run_jobs(_four_jobs(tmp_path, photos), UpscaleSession(upscaler), RunSettings(OutputOptions(tmp_path / "out")),
                       _collect([]))
    assert summary.upscaled == 4 and upscaler.memory_counts == 1
    assert upscaler.settings.tile == "auto", "each image is planned for its own size"


def test_systemic_cause_looks_through_the_writers_wording():
    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        raise DistillsrError("cannot write image 'x.png': No space left on device") from full
    except DistillsrError as wrapped:
        assert systemic_cause(wrapped) is full
    assert systemic_cause(full) is full
    assert systemic_cause(OSError(errno.EIO, "Input/output error")) is None
    assert systemic_cause(DistillsrError("cannot read image: truncated")) is None
