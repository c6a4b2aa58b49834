"""What a user names as a model, decided once: nothing, ``builtin``, a zoo name, a file, a loaded model.

Every command and :mod:`distillsr.api` take a model the same way (``-m``/``model=``, ``-w``/
``weights=``, ``-s``/``scale=``, ``--width``/``width=``, ``--backend``). :func:`model_spec` turns
those into a :class:`ModelSpec` and refuses every combination that cannot work ("X plus Y") in one
place, before any file is read or downloaded; opening the spec (:func:`~.model_loading.open_spec`,
:func:`distillsr.inference.resolve.resolve_model`) then only loads.

Nothing heavy is imported at module level: the API, which must not import torch at import time,
calls this module first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from distillsr.checkpoints.builtin import BUILTIN_NAME, builtin_scale_for, builtin_scales, is_builtin
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.models.zoo import ZooEntry

ModelKind = Literal["builtin", "zoo", "file", "onnx", "loaded"]
BackendName = Literal["torch", "onnxruntime"]
BACKENDS: tuple[str, ...] = ("torch", "onnxruntime")

# A model spec with one of these suffixes (or naming an existing file, or a path) is a file, not a zoo name.
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin", ".onnx")
ONNX_SUFFIX = ".onnx"

WEIGHTS_OPTION = "-w/--weights FILE"
"""How most commands take a weights file, as the errors advise it. A caller that takes it
otherwise passes its own ``weights_option`` (``bench``: ``-m FILE``; Python: ``weights=FILE``), so the
advice works for the command that printed it."""
BUILTIN_WITH_WEIGHTS = "the built-in models carry their weights: drop -w/--weights (weights= in Python)"
LOADED_WITH_WEIGHTS = "weights go with a zoo model name, not with an already loaded model"
LOADED_CONTRACT = ("scale", "name", "in_channels")  # what the engine needs of a model it did not load


@dataclass(frozen=True)
class ModelSpec:
    """A model as named, checked but not loaded.

    ``kind``: ``builtin`` (the shipped model for ``scale``), ``zoo`` (``name`` alone: its official
    file, or fresh weights where the caller asks for them), ``file`` (``path``; ``name`` is the zoo
    model the user said it holds, checked against it), ``onnx`` (``path``, run by onnxruntime) or
    ``loaded`` (``model``, used as it is). ``scale`` is what was asked; ``exact`` says whether it
    must be the model's own (eval, export: yes; upscale: the nearest model, resized after).
    """

    kind: ModelKind
    name: str | None = None
    path: str | None = None
    scale: float | None = None
    exact: bool = True
    width: float | None = None
    model: object | None = None

    @property
    def integer_scale(self) -> int | None:
        """``scale`` as the integer factor a model has (None when none was asked)."""
        return None if self.scale is None else integer_scale(self.scale)


def names_a_file(spec: str) -> bool:
    """Whether a model spec names a file rather than a zoo model.

    A path is recognised by its suffix, by existing or by a separator, so a typo in a zoo name
    still gets the zoo's "did you mean" error rather than "file not found".
    """
    path = Path(spec)
    return path.suffix.lower() in CHECKPOINT_SUFFIXES or path.is_file() or os.sep in spec or "/" in spec


def user_entry(name: str) -> ZooEntry:
    """The zoo entry a user named; an unknown name's error offers ``builtin`` too, which every model option takes."""
    from distillsr.models.zoo import get_entry

    return get_entry(name, also=(BUILTIN_NAME,))


def integer_scale(scale: object) -> int:
    """A scale a model can have: a positive integer (``4.0`` is 4)."""
    if isinstance(scale, float) and scale.is_integer():
        scale = int(scale)
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
    return scale


def model_spec(
    model: object = None,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    width: float | None = None,
    exact: bool = True,
    backend: str = "torch",
    default_scale: int | None = None,
) -> ModelSpec:
    """The one reading of what a user named, with every conflict refused here, in one line.

    * a loaded model (anything with a scale, a name, channels and a call): used as it is — not with
      ``weights``, and with ``exact`` not at a scale other than its own;
    * ``backend="onnxruntime"``: a ``.onnx`` file that exists, without ``weights``; a ``.onnx`` file
      with the torch backend is refused naming the flag;
    * nothing or ``builtin``: the shipped model — not with ``weights``; with ``exact``, only at a
      shipped scale;
    * a file (``model`` or ``weights``): what it holds — a file named as the model takes no
      ``weights``; a zoo name given with ``weights`` must be what the file holds (checked on load);
    * a zoo name alone: its official file (or fresh weights, where the caller asks) — a ``width``
      for a model without widths is refused before anything is downloaded, and ``bicubic`` needs a scale.

    A ``width`` of a file or a loaded model is checked once it is loaded: only it knows its widths.
    ``default_scale``: the scale of the built-in model or a zoo name when none is asked (``profile``
    measures at x4); a file's scale is always its own.
    """
    if backend not in BACKENDS:
        raise DistillsrError(f"backend must be 'torch' or 'onnxruntime', not {backend!r}")
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return _loaded(model, weights, scale, width, exact)
    spec = None if model is None else os.fspath(model)
    if backend == "onnxruntime":
        return _onnx(spec, weights, scale, width)
    if spec is None and weights is None or is_builtin(spec):
        scale = default_scale if scale is None else scale
        if weights is not None:
            raise DistillsrError(BUILTIN_WITH_WEIGHTS)
        if exact and scale is not None and builtin_scale_for(scale) != scale:  # before any file is read
            shipped = ", ".join(f"x{s}" for s in builtin_scales())
            raise DistillsrError(f"no built-in x{scale:g} model: the built-in scales are {shipped}")
        return ModelSpec("builtin", BUILTIN_NAME, scale=scale, exact=exact, width=width)
    if spec is not None and names_a_file(spec):
        if weights is not None:
            raise DistillsrError(
                f"{spec} is a weights file itself; give weights (-w/--weights, weights= in Python) only with a zoo model name"
            )
        if Path(spec).suffix.lower() == ONNX_SUFFIX:
            raise DistillsrError(f"{spec} is an ONNX model: add --backend onnxruntime (backend='onnxruntime' in Python)")
        spec, weights = None, spec
    if weights is not None:
        name = None if spec is None else user_entry(spec).name  # a typo fails before the file is read
        return ModelSpec("file", name, os.fspath(weights), scale, exact, width)
    entry = user_entry(spec)
    scale = default_scale if scale is None else scale
    if width is not None and not entry.widths:
        raise DistillsrError(no_widths_message(entry.name))
    if entry.name == "bicubic" and scale is None:
        raise DistillsrError("bicubic has no scale of its own: give -s/--scale (scale= in Python)")
    return ModelSpec("zoo", entry.name, scale=scale, exact=exact, width=width)


def no_widths_message(name: str) -> str:
    """A width asked of a model that has none: the same words before loading (a zoo entry) and after (a network)."""
    return f"{name} is not a channel-splitting model: it has no widths (--width/width= needs a CSD model)"


def _loaded(model: object, weights: object, scale: float | None, width: float | None, exact: bool) -> ModelSpec:
    """A model the caller already holds (an SRModel, an ONNX model): it must have the engine's contract."""
    if weights is not None:
        raise DistillsrError(LOADED_WITH_WEIGHTS)
    missing = [name for name in LOADED_CONTRACT if not hasattr(model, name)]
    if missing or not callable(model):
        raise DistillsrError(f"model must be a zoo name, a checkpoint path or a loaded SRModel, not {type(model).__name__}")
    if exact and scale is not None and scale != getattr(model, "scale", None):
        raise DistillsrError(f"the model upscales x{model.scale}, not x{scale}")
    return ModelSpec("loaded", getattr(model, "name", None), scale=scale, exact=exact, width=width, model=model)


def _onnx(spec: str | None, weights: object, scale: float | None, width: float | None) -> ModelSpec:
    if weights is not None:
        raise DistillsrError("an ONNX model holds its weights: drop -w/--weights with --backend onnxruntime")
    if spec is None or Path(spec).suffix.lower() != ONNX_SUFFIX:
        raise DistillsrError(f"--backend onnxruntime needs a .onnx model file (-m model.onnx), not {spec!r}")
    if not Path(spec).is_file():
        raise DistillsrError(f"ONNX model {spec} does not exist")
    return ModelSpec("onnx", path=spec, scale=scale, exact=False, width=width)


def needs_weights_message(entry: ZooEntry, scale: float | None = None, weights_option: str = WEIGHTS_OPTION) -> str:
    """Say where weights come from, so the user's next step is one download away (``weights_option``: how to give them)."""
    at = "" if scale is None else f" x{scale:g}"
    message = (
        f"model {entry.name}{at} needs trained weights (without them it is randomly initialised): "
        f"give {weights_option}"
    )
    if entry.weights:
        files = ", ".join(f"{w.filename} (x{w.scale}, {w.url})" for w in entry.weights)
        return f"{message}; official weights: {files}"
    return f"{message} (a distillsr checkpoint; no official weights are published for {entry.name})"
