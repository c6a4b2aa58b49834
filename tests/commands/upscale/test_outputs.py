"""Where ``distillsr upscale`` writes (``commands/upscale/outputs.py``): names and formats, inputs
never overwritten, no two inputs on one output, nothing outside the output folder, and an output
folder that cannot be written refused up front. The first tests run the command end to end; the
rest call the module directly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillsr.commands.upscale.inputs import Source
from distillsr.commands.upscale.outputs import (
    FORMATS,
    Job,
    OutputOptions,
    check_output_folder,
    output_path,
    plan_jobs,
)
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image

BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")


# --------------------------------------------------------------------------------------------------
# The command end to end
# --------------------------------------------------------------------------------------------------


def test_suffix_and_formats_name_the_outputs(tmp_path, upscale, photos):
    inputs = [photos.save(tmp_path / "in" / "a.png", photos.astronaut()),
              photos.save(tmp_path / "in" / "b.jpeg", photos.coffee()),
              photos.save(tmp_path / "in" / "c.bmp", photos.astronaut()),
              photos.save(tmp_path / "in" / "d.gif", photos.coffee())]
    folder = str(tmp_path / "in")
    code, _, err = upscale("-i", folder, "-o", str(tmp_path / "jpg"), "--suffix", "_x2", "--format", "jpg",
                           *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "jpg").iterdir()) == ["a_x2.jpg", "b_x2.jpg", "c_x2.jpg", "d_x2.jpg"]
    with Image.open(tmp_path / "jpg" / "a_x2.jpg") as image:
        assert image.format == "JPEG" and image.size == (128, 96)
    code, _, err = upscale("-i", *map(str, inputs), "-o", str(tmp_path / "same"), "--ext", "auto", *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "same").iterdir()) == ["a.png", "b.jpeg", "c.bmp", "d.png"]
    with Image.open(tmp_path / "same" / "c.bmp") as image:
        assert image.format == "BMP"
    assert upscale("-i", str(inputs[0]), "-o", str(tmp_path / "webp"), "--format", "webp", *BICUBIC_X2)[0] == 0
    with Image.open(tmp_path / "webp" / "a.webp") as image:
        assert image.format == "WEBP"


def test_output_folder_equal_to_input_folder_never_overwrites_inputs(tmp_path, upscale, photos):
    folder = tmp_path / "photos"
    inputs = [photos.save(folder / "a.png", photos.astronaut()), photos.save(folder / "b.jpg", photos.coffee()),
              photos.save(folder / "c.png", photos.coffee()), photos.save(folder / "c.jpg", photos.astronaut())]
    before = {p: photos.checksum(p) for p in inputs}
    in_place = ("-i", str(folder), "-o", str(folder), "--overwrite", *BICUBIC_X2)
    code, out, err = upscale(*in_place, "--format", "same")
    assert code == 1
    assert len(upscale.lines(err, "error:")) == 4
    assert all("would replace an input" in line for line in upscale.lines(err, "error:"))
    assert out.strip() == "0 upscaled, 0 skipped (exists), 4 failed"
    # --format png: b.jpg may become b.png beside it; a.png and c.jpg (-> c.png, an input) are refused
    code, out, err = upscale(*in_place, "--format", "png")
    assert code == 1 and out.strip() == "1 upscaled, 0 skipped (exists), 3 failed"
    assert read_image(folder / "b.png").shape == (96, 128, 3)
    assert {p: photos.checksum(p) for p in inputs} == before


def test_two_inputs_with_one_output_name_do_not_overwrite_each_other(tmp_path, upscale, photos):
    first = photos.save(tmp_path / "x" / "a.png", photos.astronaut())
    second = photos.save(tmp_path / "y" / "a.png", photos.coffee())
    code, out, err = upscale("-i", str(first), str(second), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1 and out.startswith("1 upscaled")
    [error] = upscale.lines(err, "error:")
    assert error.startswith(f"error: {second}: ") and str(first) in error
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "a.png").shape, (96, 128, 3))


def test_nothing_is_written_outside_the_output_folder(tmp_path, upscale, photos):
    photos.save(tmp_path / "in" / "sub" / "a.png", photos.astronaut())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    os.symlink(elsewhere, tmp_path / "out" / "sub")
    code, _, err = upscale("-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1 and "outside the output folder" in err
    assert list(elsewhere.iterdir()) == []
    code, _, err = upscale("-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "o2"), "--suffix", "/../../x",
                           *BICUBIC_X2)
    assert code == 1 and "path separators" in err


# --------------------------------------------------------------------------------------------------
# Names, options, plans and the output folder check, called directly
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fmt", "expected"),
    [
        (Source(Path("in/a.jpeg")), "png", "out/a_x2.png"),
        (Source(Path("in/trip/day1/a.png"), Path("in")), "jpg", "out/trip/day1/a_x2.jpg"),
        (Source(Path("in/a.jpeg")), "same", "out/a_x2.jpeg"),
        (Source(Path("in/a.BMP")), "auto", "out/a_x2.BMP"),
        (Source(Path("in/a.gif")), "same", "out/a_x2.png"),  # write_image writes no GIF
        (Source(Path("elsewhere/a.png"), Path("in")), "webp", "out/a_x2.webp"),  # not below its root: flat
    ],
)
def test_output_path_keeps_subfolders_and_applies_suffix_and_format(source, fmt, expected):
    assert output_path(source, OutputOptions(Path("out"), "_x2", fmt)).as_posix() == expected


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"format": "gif"}, "output format must be one of png, jpg"),
        ({"suffix": "/../x"}, "must not contain path separators"),
        ({"suffix": "a\\b"}, "must not contain path separators"),
        ({"quality": 0}, "quality must be an integer from 1 to 100"),
        ({"quality": 101}, "quality must be an integer from 1 to 100"),
        ({"quality": True}, "quality must be an integer from 1 to 100"),
    ],
)
def test_output_options_refuse_what_cannot_be_written(options, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        OutputOptions(Path("out"), **options)


def test_the_format_flag_offers_exactly_the_formats_known_here():
    from distillsr.commands import upscale

    assert upscale.FORMAT_CHOICES == tuple(FORMATS)


def test_plan_refuses_an_output_that_is_an_input_under_another_name(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.png").write_bytes(b"")
    os.link(tmp_path / "in" / "b.png", tmp_path / "in" / "b-link.png")  # one file, two names
    [job] = plan_jobs([Source(tmp_path / "in" / "b.png")], OutputOptions(tmp_path / "in", suffix="-link"))
    assert job.target == tmp_path / "in" / "b-link.png"
    assert job.problem == f"its output {job.target} would replace an input; choose another -o folder or a --suffix"
    [job] = plan_jobs([Source(tmp_path / "in" / "b.png")], OutputOptions(tmp_path / "in", suffix="_x2"))
    assert job.problem is None


def test_plan_gives_one_output_name_to_the_first_input_only(tmp_path):
    sources = [Source(tmp_path / "x" / "a.png"), Source(tmp_path / "y" / "a.jpg"), Source(tmp_path / "y" / "b.png")]
    first, second, third = plan_jobs(sources, OutputOptions(tmp_path / "out"))
    assert first == Job(sources[0].path, str(sources[0].path), tmp_path / "out" / "a.png")
    assert second.problem.startswith(f"its output {tmp_path / 'out' / 'a.png'} would also be written from "
                                     f"{sources[0].path}; ")
    assert third.problem is None


def test_plan_refuses_an_output_that_a_symlink_leads_out_of_the_folder(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "a.png").write_bytes(b"")
    (tmp_path / "in" / "b.png").write_bytes(b"")
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "sub")
    root = tmp_path / "in"
    inside, outside = plan_jobs([Source(root / "b.png", root), Source(root / "sub" / "a.png", root)],
                                OutputOptions(tmp_path / "out"))
    assert inside.problem is None and inside.target == tmp_path / "out" / "b.png"
    assert "outside the output folder" in outside.problem


def test_output_folder_that_is_a_file_or_an_image_name_is_refused(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DistillsrError, match="is a file; -o takes a folder"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(DistillsrError, match="looks like a file name; -o takes a folder"):
        check_output_folder(tmp_path / "result.png")
    check_output_folder(tmp_path / "new" / "deeper")  # fine, and not created by the check
    assert not (tmp_path / "new").exists()


def test_output_folder_below_a_file_is_refused_naming_the_path(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    folder = tmp_path / "notes.txt" / "out"
    with pytest.raises(DistillsrError) as caught:
        check_output_folder(folder)
    assert str(caught.value) == f"cannot write output folder {folder}: {tmp_path / 'notes.txt'} is a file, not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only (0o555) folders; the file-parent case covers root")
def test_output_folder_in_a_read_only_place_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(DistillsrError, match=rf"cannot write output folder {locked / 'out'}: Permission denied"):
            check_output_folder(locked / "out")
    finally:
        locked.chmod(0o755)
