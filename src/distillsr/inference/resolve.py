"""Turning what a user names (nothing, a zoo name, a checkpoint path, an ONNX file, a loaded model) into a ready model.

``distillsr upscale -m/-w`` and :func:`distillsr.upscale` both go through :func:`resolve_model`, so
they accept the same things and fail the same way. Models named by a zoo name or a file (loaded by
:func:`~distillsr.checkpoints.model_loading.open_model`) are kept in
a small cache keyed by what was asked and the files' size and modification time, so calling
:func:`distillsr.upscale` in a loop does not reload them (a file rewritten in place is reloaded).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from distillsr.checkpoints.model_loading import names_a_file
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.inference.upscaler import Backend
    from distillsr.models.sr_model import SRModel

ModelLike = Union[str, "os.PathLike[str]", "SRModel", "Backend", None]
BackendName = Literal["torch", "onnxruntime"]

ONNX_INSTALL_HINT = 'pip install "distillsr[onnx]"'
_CACHE_SIZE = 4


def resolve_model(
    model: ModelLike,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    backend: BackendName = "torch",
    threads: int | None = None,
) -> Backend:
    """A ready model from nothing (the built-in one), a zoo name (+ ``weights``), a checkpoint path,
    or a loaded model, by the rules of :func:`~distillsr.checkpoints.model_loading.open_model`.

    ``scale`` picks the built-in or official file that serves it (a scale without one of its own
    takes the nearest; the caller resizes) and the size of ``bicubic``. ``threads`` sizes an
    onnxruntime session (the torch backend's threads are the process's: ``torch.set_num_threads``).
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if weights is not None:
            raise DistillsrError("weights go with a zoo model name, not with an already loaded model")
        return _check_loaded(model)
    if backend == "onnxruntime":
        return _load_onnx(model, weights, threads)
    if backend != "torch":
        raise DistillsrError(f"backend must be 'torch' or 'onnxruntime', not {backend!r}")
    spec = None if model is None else os.fspath(model)
    if spec is not None and names_a_file(spec) and Path(spec).suffix.lower() == ".onnx":
        raise DistillsrError(f"{spec} is an ONNX model: add --backend onnxruntime (backend='onnxruntime' in Python)")
    from distillsr.home import distillsr_home

    # the cache folder is part of the key: a zoo name alone means the official file found there
    home = str(distillsr_home())
    return _cached(spec, None if weights is None else os.fspath(weights), scale, (*_stamps(spec, weights), home))


def _check_loaded(model: object) -> Backend:
    """Anything with the engine's contract (an SRModel, an ONNX model) is used as it is."""
    missing = [name for name in ("scale", "name", "in_channels") if not hasattr(model, name)]
    if missing or not callable(model):
        raise DistillsrError(
            f"model must be a zoo name, a checkpoint path or a loaded SRModel, not {type(model).__name__}"
        )
    return model


def _stamps(*paths: str | os.PathLike[str] | None) -> tuple[tuple[int, int] | None, ...]:
    """Size and modification time of each named file: a file rewritten in place is loaded again, not served stale."""
    stamps = []
    for path in paths:
        try:
            status = os.stat(path) if path is not None else None
        except (OSError, ValueError):
            status = None  # not a file (a zoo name), or let the loader word the error
        stamps.append(None if status is None else (status.st_size, status.st_mtime_ns))
    return tuple(stamps)


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(spec: str | None, weights: str | None, scale: float | None, stamps: tuple) -> SRModel:
    from distillsr.checkpoints.model_loading import open_model

    return open_model(spec, weights=weights, scale=scale, exact=False)


def _load_onnx(model: ModelLike, weights: object, threads: int | None = None) -> Backend:
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

        return OnnxModel.load(spec, threads=threads)
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
