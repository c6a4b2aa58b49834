"""A ready model for upscaling from what a user names, kept loaded between calls.

``distillsr upscale -m/-w`` and :func:`distillsr.upscale` both go through :func:`resolve_model`:
what was named is read once by :func:`~distillsr.checkpoints.model_spec.model_spec` (which refuses
every conflicting combination), then opened here — a torch model by
:func:`~distillsr.checkpoints.model_loading.open_spec`, an ``.onnx`` file by the onnxruntime
backend. Models named by a zoo name or a file are kept in a small cache keyed by their spec and the
files' size and modification time, so calling :func:`distillsr.upscale` in a loop does not reload
them (a file rewritten in place is reloaded).
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Union

from distillsr.checkpoints.model_spec import BackendName, ModelSpec, model_spec
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.inference.upscaler import Backend
    from distillsr.models.sr_model import SRModel

ModelLike = Union[str, "os.PathLike[str]", "SRModel", "Backend", None]

ONNX_INSTALL_HINT = 'pip install "distillsr[onnx]"'
_CACHE_SIZE = 4

__all__ = ["BackendName", "ModelLike", "open_backend", "resolve_model"]


def resolve_model(
    model: ModelLike,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    backend: BackendName = "torch",
    threads: int | None = None,
    width: float | None = None,
) -> Backend:
    """A ready model from nothing (the built-in one), a zoo name (+ ``weights``), a checkpoint path,
    or a loaded model, by the rules of :func:`~distillsr.checkpoints.model_spec.model_spec`.

    ``scale`` picks the built-in or official file that serves it (a scale without one of its own
    takes the nearest; the caller resizes) and the size of ``bicubic``. ``threads`` sizes an
    onnxruntime session (the torch backend's threads are the process's: ``torch.set_num_threads``).
    ``width`` is only checked here (a zoo name without widths fails before its download); the
    caller runs the model at it (:func:`distillsr.api.at_width`), since cached models are shared.
    """
    spec = model_spec(model, weights=weights, scale=scale, width=width, exact=False, backend=backend)
    return open_backend(spec, threads)


def open_backend(spec: ModelSpec, threads: int | None = None) -> Backend:
    """What runs ``spec``: a loaded model as it is, an ONNX session, or a (cached) torch model."""
    if spec.kind == "loaded":
        return spec.model  # type: ignore[return-value]
    if spec.kind == "onnx":
        return _load_onnx(spec.path, threads)
    from distillsr.home import distillsr_home

    # the cache folder is part of the key: a zoo name alone means the official file found there
    key = dataclasses.replace(spec, width=None)  # a width is applied per call, never cached
    return _cached(key, (_stamp(spec.path), str(distillsr_home())))


def _stamp(path: str | None) -> tuple[int, int] | None:
    """Size and modification time of a named file: a file rewritten in place is loaded again, not served stale."""
    try:
        status = os.stat(path) if path is not None else None
    except (OSError, ValueError):
        status = None  # let the loader word the error
    return None if status is None else (status.st_size, status.st_mtime_ns)


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(spec: ModelSpec, stamps: tuple) -> SRModel:
    from distillsr.checkpoints.model_loading import open_spec

    return open_spec(spec)


def _load_onnx(path: str, threads: int | None = None) -> Backend:
    """The ONNX backend, imported only when asked for: onnxruntime is an optional dependency."""
    try:
        from distillsr.inference.onnx_backend import OnnxModel

        return OnnxModel.load(path, threads=threads)
    except ImportError as error:
        raise DistillsrError(
            f"the onnxruntime backend is not available ({error}); install it with {ONNX_INSTALL_HINT}"
        ) from None
