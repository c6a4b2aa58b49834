"""Turning what a user names (a zoo name, a checkpoint path, an ONNX file, a loaded model) into a ready model.

``distillsr upscale -m/-w`` and :func:`distillsr.upscale` both go through :func:`resolve_model`, so
they accept the same things and fail the same way. Models named by a zoo name or a file are kept in
a small cache keyed by what was asked and the files' size and modification time, so calling
:func:`distillsr.upscale` in a loop does not reload them (a file rewritten in place is reloaded).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.inference.upscaler import Backend
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import ZooEntry

ModelLike = Union[str, "os.PathLike[str]", "SRModel", "Backend", None]
BackendName = Literal["torch", "onnxruntime"]

# A `-m` value with one of these suffixes (or naming an existing file) is a file, not a zoo name.
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin", ".onnx")
ONNX_INSTALL_HINT = 'pip install "distillsr[onnx]"'
_CACHE_SIZE = 4


def resolve_model(
    model: ModelLike,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    backend: BackendName = "torch",
) -> Backend:
    """A ready model from a zoo name (+ ``weights``), a checkpoint path, or a loaded model.

    ``scale`` only matters for ``bicubic``, the one model without a scale of its own (a
    non-integer scale builds the next integer; the caller resizes). A zoo name without weights is
    refused, except ``bicubic``: its network would be randomly initialised and the output noise.
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if weights is not None:
            raise DistillsrError("weights go with a zoo model name, not with an already loaded model")
        return _check_loaded(model)
    if backend == "onnxruntime":
        return _load_onnx(model, weights)
    if backend != "torch":
        raise DistillsrError(f"backend must be 'torch' or 'onnxruntime', not {backend!r}")
    if model is None and weights is None:
        raise DistillsrError(
            "no model given: name a zoo model with its weights (-m e-rfdn -w RFDN_AIM.pth) or a checkpoint "
            "(-m model.safetensors); there is no built-in default model yet"
        )
    spec = None if model is None else os.fspath(model)
    if spec is not None and _looks_like_file(spec):
        if weights is not None:
            raise DistillsrError(f"{spec} is a weights file itself; give -w/--weights only with a zoo model name")
        return _load_file(spec)
    return _load_named(spec, weights, scale)


def _check_loaded(model: object) -> Backend:
    """Anything with the engine's contract (an SRModel, an ONNX model) is used as it is."""
    missing = [name for name in ("scale", "name", "in_channels") if not hasattr(model, name)]
    if missing or not callable(model):
        raise DistillsrError(
            f"model must be a zoo name, a checkpoint path or a loaded SRModel, not {type(model).__name__}"
        )
    return model


def _looks_like_file(spec: str) -> bool:
    path = Path(spec)
    return path.suffix.lower() in CHECKPOINT_SUFFIXES or path.is_file() or os.sep in spec or "/" in spec


def _load_file(spec: str) -> Backend:
    if Path(spec).suffix.lower() == ".onnx":
        raise DistillsrError(f"{spec} is an ONNX model: add --backend onnxruntime (backend='onnxruntime' in Python)")
    return _cached(None, spec, None, _stamp(spec))


def _load_named(name: str | None, weights: str | os.PathLike[str] | None, scale: float | None) -> Backend:
    from distillsr.models.zoo import get_entry

    entry = None if name is None else get_entry(name)  # a typo fails before any file is read
    if weights is not None:
        return _cached(name, os.fspath(weights), None, _stamp(os.fspath(weights)))
    if entry.name != "bicubic":
        raise DistillsrError(needs_weights_message(entry))
    if scale is None:
        raise DistillsrError("bicubic has no scale of its own: give -s/--scale (scale= in Python)")
    return _cached("bicubic", None, max(1, math.ceil(scale - 1e-9)), None)


def needs_weights_message(entry: ZooEntry) -> str:
    """Say where weights come from, so the user's next step is one download away."""
    message = (
        f"model {entry.name} needs trained weights (without them it is randomly initialised): "
        "give -w/--weights FILE"
    )
    if entry.weights:
        files = ", ".join(f"{w.filename} (x{w.scale}, {w.url})" for w in entry.weights)
        return f"{message}; official weights: {files}"
    return f"{message} (a distillsr checkpoint; no official weights are published for {entry.name})"


def _stamp(path: str) -> tuple[int, int] | None:
    """Size and modification time: a file rewritten in place is loaded again, not served stale."""
    try:
        stat = os.stat(path)
    except OSError:
        return None  # let the loader word the error
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(name: str | None, weights: str | None, scale: int | None, stamp: tuple[int, int] | None) -> SRModel:
    from distillsr.models.zoo import build_model, load_model

    if weights is None:
        return build_model(name, scale)
    return load_model(name, None, weights)


def _load_onnx(model: ModelLike, weights: object) -> Backend:
    """The ONNX backend, imported only when asked for: onnxruntime is an optional dependency."""
    if weights is not None:
        raise DistillsrError("an ONNX model holds its weights: drop -w/--weights with --backend onnxruntime")
    spec = None if model is None else os.fspath(model)
    if spec is None or Path(spec).suffix.lower() != ".onnx":
        raise DistillsrError(f"--backend onnxruntime needs a .onnx model file (-m model.onnx), not {spec!r}")
    if not Path(spec).is_file():
        raise DistillsrError(f"ONNX model {spec} does not exist")
    try:
        from distillsr.inference.onnx_backend import OnnxModel

        return OnnxModel.load(spec)
    except ImportError as error:
        raise DistillsrError(
            f"the onnxruntime backend is not available ({error}); install it with {ONNX_INSTALL_HINT}"
        ) from None


def output_scale(model: Backend, scale: float | None) -> float:
    """The scale the output has: the model's own unless asked otherwise."""
    if scale is None:
        return float(model.scale)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (scale > 0 and math.isfinite(scale)):
        raise DistillsrError(f"scale must be a positive number, not {scale!r}")
    return float(scale)
