"""distillsr's own models, shipped inside the package: ``-m builtin`` and the default of ``upscale``.

Each scale has one folded safetensors file, ``distillsr/weights/builtin_x<S>.safetensors``, made by
``configs/builtin/x<S>.yaml`` and ``scripts/package_builtin.py``. The file's distillsr metadata is
an ordinary checkpoint description (so it loads like any other checkpoint) whose provenance holds
the model card: recipe, data, iterations, wall time, device, Set5/Set14 scores, lineage, licence.
Shipping the files keeps ``distillsr upscale photo.jpg`` working offline, straight after install.

The card is read from the safetensors header alone (a JSON block at the start of the file), so
``distillsr zoo`` can list the built-in models without importing torch. Loading one is
:func:`distillsr.checkpoints.model_loading.load_builtin`'s job (this module loads nothing, so the
loader imports it and not the other way round).
"""

from __future__ import annotations

import json
import math
import struct
from functools import lru_cache
from importlib import resources
from pathlib import Path

from distillsr.errors import DistillsrError

BUILTIN_NAME = "builtin"
DEFAULT_SCALE = 4  # what `upscale` produces when no -s is given
_PACKAGE_FOLDER = "weights"
_HEADER_LIMIT = 1 << 24  # a safetensors header beyond 16 MB is not one of ours


def is_builtin(name: object) -> bool:
    """Whether a model spec names the built-in models (``builtin``, any case, surrounding spaces ignored)."""
    return isinstance(name, str) and name.strip().lower() == BUILTIN_NAME


def builtin_folder() -> Path:
    """Where the package keeps the built-in weights (inside the installed package)."""
    return Path(str(resources.files("distillsr"))) / _PACKAGE_FOLDER


def builtin_file(scale: int) -> Path:
    """The shipped file of the built-in model at ``scale`` (which may be missing from a broken install)."""
    return builtin_folder() / f"builtin_x{scale}.safetensors"


def builtin_scales() -> tuple[int, ...]:
    """The scales whose built-in model this installation ships, smallest first."""
    folder = builtin_folder()
    found = []
    for path in folder.glob("builtin_x*.safetensors") if folder.is_dir() else ():
        digits = path.stem.removeprefix("builtin_x")
        if digits.isdigit():
            found.append(int(digits))
    return tuple(sorted(found))


def builtin_scale_for(scale: float | None) -> int:
    """The built-in model that serves an output ``scale``: its own when shipped, else the smallest
    larger one (the result is then resized down, which loses less than resizing up), else the largest.

    ``None`` means the default, x4.
    """
    scales = builtin_scales()
    if not scales:
        raise DistillsrError(
            f"this installation of distillsr has no built-in models (no {builtin_folder()}/builtin_x*.safetensors): "
            "reinstall distillsr, or name a model with -m and -w"
        )
    wanted = DEFAULT_SCALE if scale is None else scale
    if isinstance(wanted, bool) or not isinstance(wanted, (int, float)) or not (wanted > 0 and math.isfinite(wanted)):
        raise DistillsrError(f"scale must be a positive number, not {scale!r}")
    if float(wanted).is_integer() and int(wanted) in scales:
        return int(wanted)
    larger = [s for s in scales if s >= wanted]
    return min(larger) if larger else max(scales)


def builtin_path(scale: float | None) -> Path:
    """The file that serves ``scale`` (see :func:`builtin_scale_for`), checked to exist."""
    path = builtin_file(builtin_scale_for(scale))
    if not path.is_file():  # listed a moment ago, gone now: a damaged installation
        raise DistillsrError(f"the built-in model file {path} is missing: reinstall distillsr")
    return path


def read_header(path: Path) -> dict:
    """The JSON header of a safetensors file, read without torch."""
    try:
        with open(path, "rb") as stream:
            prefix = stream.read(8)
            if len(prefix) < 8:
                raise DistillsrError(f"{path}: truncated (no safetensors header)")
            (length,) = struct.unpack("<Q", prefix)
            if length > _HEADER_LIMIT:
                raise DistillsrError(f"{path}: not a safetensors file (header length {length})")
            text = stream.read(length)
    except OSError as error:
        raise DistillsrError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DistillsrError(f"{path}: damaged safetensors header") from None
    if not isinstance(header, dict):
        raise DistillsrError(f"{path}: damaged safetensors header")
    return header


@lru_cache(maxsize=8)
def _card_of(path: Path, stamp: tuple[int, int]) -> dict:
    from distillsr.checkpoints.format import METADATA_KEY, CheckpointInfo

    metadata = read_header(path).get("__metadata__") or {}
    text = metadata.get(METADATA_KEY)
    if not isinstance(text, str):
        raise DistillsrError(f"{path}: not a distillsr checkpoint (no model card)")
    info = CheckpointInfo.from_json(text, str(path))
    card = info.provenance.get("card")
    if not isinstance(card, dict):
        raise DistillsrError(f"{path}: a distillsr checkpoint without a model card")
    return {**card, "model": info.model, "scale": info.scale, "form": info.form}


def builtin_card(scale: int) -> dict:
    """The model card of the built-in model at exactly ``scale`` (see the module docstring for its fields)."""
    path = builtin_file(scale)
    try:
        status = path.stat()
    except OSError:
        raise DistillsrError(f"no built-in x{scale} model in this installation (shipped: {builtin_scales()})") from None
    return dict(_card_of(path, (status.st_size, status.st_mtime_ns)))
