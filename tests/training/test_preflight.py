"""Every path of a recipe is checked before a run creates anything, naming the recipe key and the path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillsr.errors import DataError, DistillsrError
from distillsr.stages import parse_recipe
from distillsr.training.preflight import check_recipe_paths, sub_image_root


def _image(path: Path, size: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), 128, np.uint8)).save(path)


@pytest.fixture
def layout(tmp_path) -> Path:
    """HR, matching x2 LR, LR that matches nothing, and a validation set."""
    for name in ("a", "b"):
        _image(tmp_path / "hr" / f"{name}.png", 16)
        _image(tmp_path / "lr" / f"{name}x2.png", 8)
        _image(tmp_path / "val" / f"{name}.png", 16)
    _image(tmp_path / "unpaired" / "cx2.png", 8)
    (tmp_path / "empty").mkdir()
    return tmp_path


def recipe(root: Path, *, hr="hr", lr=None, val="val", every=5, out="out", extra=""):
    lr_line = f"\n    lr_folders: [{root / lr}]" if lr else ""
    text = f"""
output_dir: {root / out}
model: {{name: imdn, scale: 2}}
data:
  train:
    hr_folders: [{root / hr}]{lr_line}{extra}
  val:
    folders: [{root / val}]
    every: {every}
stages:
  - {{kind: train, iterations: 10}}
"""
    return parse_recipe(text)


def _error(config) -> str:
    with pytest.raises(DistillsrError) as raised:
        check_recipe_paths(config)
    return str(raised.value)


def test_a_complete_recipe_passes_and_creates_nothing(layout):
    check_recipe_paths(recipe(layout, lr="lr"))
    assert not (layout / "out").exists()
    assert not [p for p in layout.iterdir() if p.name.startswith(".distillsr")], "the write probe is removed"


@pytest.mark.parametrize(
    ("settings", "key", "reason"),
    [
        ({"hr": "missing"}, "data.train.hr_folders.0", "does not exist"),
        ({"hr": "empty"}, "data.train.hr_folders.0", "no images found"),
        ({"lr": "missing"}, "data.train.lr_folders.0", "does not exist"),
        ({"lr": "empty"}, "data.train.lr_folders.0", "no images found"),
        ({"lr": "unpaired"}, "data.train.lr_folders.0", "do not pair up"),
        ({"val": "missing"}, "data.val.folders.0", "does not exist"),
        ({"val": "empty"}, "data.val.folders.0", "no images found"),
    ],
)
def test_each_data_folder_is_checked_and_named_by_its_key(layout, settings, key, reason):
    message = _error(recipe(layout, **settings))
    folder = next(iter(settings.values()))
    assert message.startswith(f"{key}: ") and reason in message and str(layout / folder) in message


def test_a_missing_data_folder_is_a_data_error(layout):
    with pytest.raises(DataError):
        check_recipe_paths(recipe(layout, hr="missing"))


def test_validation_folders_are_not_read_when_validation_is_off(layout):
    check_recipe_paths(recipe(layout, val="missing", every=0))


def test_an_output_folder_under_a_regular_file_is_refused(layout):
    (layout / "file").write_text("x")
    message = _error(recipe(layout, out="file/run"))
    assert message.startswith("output_dir: cannot write experiment folder") and str(layout / "file" / "run") in message
    assert message.endswith("is a file, not a folder")


def test_the_sub_image_folder_must_be_writable(layout):
    (layout / "file").write_text("x")
    extra = f"\n    sub_images: {{folder: {layout / 'file' / 'tiles'}, crop: 16, step: 8}}"
    config = recipe(layout, extra=extra)
    assert sub_image_root(config.data.train) == layout / "file" / "tiles"
    message = _error(config)
    assert message.startswith("data.train.sub_images.folder: cannot write sub-image folder")


def test_tiles_go_under_the_cache_folder_unless_a_folder_is_given(layout):
    config = recipe(layout, extra=f"\n    cache_dir: {layout / 'cache'}\n    sub_images: {{crop: 16, step: 8}}")
    assert sub_image_root(config.data.train) == layout / "cache" / "subimages"
    check_recipe_paths(config)
    assert not (layout / "cache").exists()
