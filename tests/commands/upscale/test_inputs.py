"""Which files ``distillsr upscale`` reads (``commands/upscale/inputs.py``): folders, recursion,
quoted globs, duplicates, and the output folder left out of listings. The first tests run the
command end to end; the rest call :func:`collect_inputs` directly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distillsr.commands.upscale.inputs import Source, collect_inputs, is_inside
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image

BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")


# --------------------------------------------------------------------------------------------------
# The command end to end
# --------------------------------------------------------------------------------------------------


def test_folder_lists_direct_images_and_recursion_keeps_subfolders(tmp_path, upscale, photos):
    photos.save(tmp_path / "in" / "a.png", photos.astronaut())
    photos.save(tmp_path / "in" / "trip" / "b.jpg", photos.coffee())
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    photos.save(tmp_path / "in" / ".hidden.png", photos.astronaut())
    code, out, err = upscale("-i", str(tmp_path / "in"), "-o", str(tmp_path / "flat"), *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*")) == ["a.png"]
    code, out, err = upscale("-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "deep"), *BICUBIC_X2)
    assert code == 0, err
    assert out.startswith("2 upscaled")
    assert read_image(tmp_path / "deep" / "trip" / "b.png").shape == (96, 128, 3)


def test_quoted_globs_are_expanded_here(tmp_path, upscale, photos):
    photos.save(tmp_path / "in" / "a.png", photos.astronaut())
    photos.save(tmp_path / "in" / "b.jpg", photos.coffee())
    photos.save(tmp_path / "in" / "sub" / "c.jpg", photos.coffee())
    code, _, err = upscale("-i", str(tmp_path / "in" / "*.jpg"), "-o", str(tmp_path / "one"), *BICUBIC_X2)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "one").rglob("*.*")) == ["b.png"]
    deep = str(tmp_path / "in" / "**" / "*.jpg")
    code, _, err = upscale("-i", deep, "-o", str(tmp_path / "all"), *BICUBIC_X2)
    assert code == 0, err
    assert (tmp_path / "all" / "b.png").is_file() and (tmp_path / "all" / "sub" / "c.png").is_file()


def test_an_output_folder_inside_an_input_folder_is_not_read_back(tmp_path, upscale, photos):
    photos.save(tmp_path / "in" / "a.png", photos.astronaut())
    args = ("-i", str(tmp_path / "in"), "-r", "-o", str(tmp_path / "in" / "up"), *BICUBIC_X2)
    assert upscale(*args)[1].startswith("1 upscaled")
    code, out, _ = upscale(*args, "--overwrite")  # a rerun: up/a.png is not an input now
    assert code == 0 and out.startswith("1 upscaled")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == ["in/a.png", "in/up/a.png"]


def test_a_folder_without_direct_images_hints_at_recursion(tmp_path, upscale, photos):
    photos.save(tmp_path / "in" / "sub" / "a.png", photos.astronaut())
    code, _, err = upscale("-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1
    assert f"note: {tmp_path / 'in'}: no images found (use -r to include subfolders)" in err
    assert "distillsr: error: no input images found (use -r to search subfolders)" in err


def test_several_inputs_and_duplicates_are_upscaled_once(tmp_path, upscale, photos):
    a = photos.save(tmp_path / "in" / "a.png", photos.astronaut())
    code, out, err = upscale("-i", str(a), str(tmp_path / "in"), "-i", str(tmp_path / "in" / "*.png"),
                             "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 0, err
    assert out.startswith("1 upscaled")


# --------------------------------------------------------------------------------------------------
# collect_inputs called directly
# --------------------------------------------------------------------------------------------------


def _touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # listing goes by name; nothing here reads the pixels


def test_a_folder_lists_its_images_by_name_with_the_folder_as_root(tmp_path):
    folder = tmp_path / "in"
    _touch(folder / "b.JPG", folder / "a.png", folder / ".hidden.png", folder / "notes.txt", folder / "sub" / "c.png")
    assert collect_inputs([str(folder)]) == [Source(folder / "a.png", folder), Source(folder / "b.JPG", folder)]


def test_recursion_skips_hidden_folders_and_the_output_folder(tmp_path):
    folder = tmp_path / "in"
    _touch(folder / "a.png", folder / "trip" / "b.png", folder / ".git" / "c.png", folder / "up" / "old.png")
    found = collect_inputs([str(folder)], recursive=True, exclude=folder / "up")
    assert found == [Source(folder / "a.png", folder), Source(folder / "trip" / "b.png", folder)]


def test_an_output_folder_that_is_the_input_folder_hides_nothing(tmp_path):
    _touch(tmp_path / "a.png")
    assert [s.path for s in collect_inputs([str(tmp_path)], exclude=tmp_path)] == [tmp_path / "a.png"]


def test_a_glob_keeps_the_folders_below_its_literal_part(tmp_path):
    _touch(tmp_path / "in" / "b.jpg", tmp_path / "in" / "sub" / "c.jpg", tmp_path / "in" / "sub" / "d.png")
    found = collect_inputs([str(tmp_path / "in" / "**" / "*.jpg")])
    assert found == [Source(tmp_path / "in" / "b.jpg", tmp_path / "in"),
                     Source(tmp_path / "in" / "sub" / "c.jpg", tmp_path / "in")]


def test_a_file_named_twice_is_kept_once_as_first_named(tmp_path):
    _touch(tmp_path / "in" / "a.png", tmp_path / "in" / "b.png")
    spelled_differently = str(tmp_path / "in" / ".." / "in" / "a.png")
    found = collect_inputs([spelled_differently, str(tmp_path / "in"), str(tmp_path / "in" / "*.png")])
    assert found == [Source(Path(spelled_differently)), Source(tmp_path / "in" / "b.png", tmp_path / "in")]


def test_a_file_named_explicitly_is_taken_whatever_its_suffix(tmp_path):
    _touch(tmp_path / "scan.image")
    assert collect_inputs([str(tmp_path / "scan.image")]) == [Source(tmp_path / "scan.image")]
    with pytest.raises(DistillsrError, match="no input images found"):
        collect_inputs([str(tmp_path)])  # but a folder listing does not pick it up


def test_a_missing_input_stops_before_the_others_are_listed(tmp_path):
    _touch(tmp_path / "a.png")
    with pytest.raises(DistillsrError, match=r"input '.*typo\.png' does not exist"):
        collect_inputs([str(tmp_path / "a.png"), str(tmp_path / "typo.png")])


def test_an_empty_input_is_reported_and_no_inputs_at_all_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    _touch(tmp_path / "a.png")
    events = []
    found = collect_inputs([str(tmp_path / "empty"), str(tmp_path / "a.png")],
                           report=lambda *event: events.append(event))
    assert [s.path for s in found] == [tmp_path / "a.png"]
    assert events == [("note", str(tmp_path / "empty"), "no images found (use -r to include subfolders)")]
    with pytest.raises(DistillsrError, match=r"^no input images found$"):
        collect_inputs([str(tmp_path / "empty")], recursive=True)


def test_inside_resolves_symlinks_and_dotdot(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "link")
    assert is_inside(tmp_path / "out" / "a" / ".." / "b", tmp_path / "out")
    assert not is_inside(tmp_path / "out" / "link", tmp_path / "out")
    assert not is_inside(tmp_path / "out", None)
