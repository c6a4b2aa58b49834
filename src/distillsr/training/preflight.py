"""Every path a recipe names, checked before a training run creates anything.

A missing validation folder used to be found after the experiment folder had been made and
``recipe.yaml`` written into it, leaving a stray folder behind for every typo; a read-only output
place was found after the data had been loaded. These checks only list folders and probe the
output place (no image is decoded), so they cost milliseconds and run before the first folder is
made. Each error names the recipe key as the reader does (``data.val.folders.0``) and the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from distillsr.errors import DataError, DistillsrError
from distillsr.writable import check_output_folder


def sub_image_root(train) -> Path:
    """Where the tiles of ``data.train.sub_images`` go: its ``folder``, else under the LR cache."""
    from distillsr.data.lr_cache import default_cache_dir

    settings = train.sub_images
    return Path(settings.folder) if settings.folder else Path(train.cache_dir or default_cache_dir()) / "subimages"


def check_recipe_paths(recipe) -> None:
    """Raise a one-line :class:`DistillsrError` for the first data folder or output place that will fail."""
    from distillsr.data.eval_sets import EvalSet, pair_images
    from distillsr.imaging.listing import list_images

    train, scale = recipe.data.train, recipe.model.scale
    for index, folder in enumerate(train.hr_folders):
        _keyed(f"data.train.hr_folders.{index}", _has_images, list_images, folder)
        if train.lr_folders:
            lr_folder = train.lr_folders[index]
            _keyed(f"data.train.lr_folders.{index}", _has_images, list_images, lr_folder)
            _keyed(f"data.train.lr_folders.{index}", pair_images, Path(folder), Path(lr_folder), scale)
    val = recipe.data.val
    if val.every:  # the sets are read only when validation is on
        for index, folder in enumerate(val.folders):
            _keyed(f"data.val.folders.{index}", EvalSet, folder, scale)  # lists and pairs, decodes nothing
    _keyed("output_dir", check_output_folder, recipe.output_dir, "experiment folder")
    if train.sub_images:
        key = "data.train.sub_images.folder" if train.sub_images.folder else "data.train.cache_dir"
        _keyed(key, check_output_folder, sub_image_root(train), "sub-image folder")


def _has_images(list_images: Callable[[str], list], folder: str) -> None:
    if not list_images(folder):
        raise DataError(f"no images found in {folder}")


def _keyed(key: str, check: Callable[..., object], *args: object) -> None:
    """Run ``check(*args)``; its error, if any, comes back prefixed with the recipe key it is about."""
    try:
        check(*args)
    except DistillsrError as error:
        kind = DataError if isinstance(error, DataError) else DistillsrError
        raise kind(f"{key}: {error}") from None
