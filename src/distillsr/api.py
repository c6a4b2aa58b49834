"""The Python entry point: ``distillsr.upscale(image, model)`` on arrays and PIL images.

It runs the same engine as ``distillsr upscale`` (:class:`~distillsr.inference.upscaler.Upscaler`
plus the same ``scale`` resize), so an array read with :func:`distillsr.imaging.io.read_image`
comes back with the very pixels the command writes. :func:`resolve_model` is also what the command
uses to turn ``-m``/``-w`` into a model, so both accept the same things and fail the same way.

Loading a model takes a moment (and building a large one, longer): models named by a zoo name or
a file are kept in a small cache keyed by what was asked and the files' size and modification
time, so calling :func:`upscale` in a loop does not reload them. Passing an already loaded
:class:`~distillsr.models.sr_model.SRModel` skips loading altogether.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

import numpy as np

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from PIL import Image

    from distillsr.inference.upscaler import Backend, Upscaler
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import ZooEntry

ModelLike = Union[str, "os.PathLike[str]", "SRModel", "Backend", None]
BackendName = Literal["torch", "onnxruntime"]

# A `-m` value with one of these suffixes (or naming an existing file) is a file, not a zoo name.
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin", ".onnx")
ONNX_INSTALL_HINT = 'pip install "distillsr[onnx]"'
_CACHE_SIZE = 4


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


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
        raise DistillsrError(_needs_weights(entry))
    if scale is None:
        raise DistillsrError("bicubic has no scale of its own: give -s/--scale (scale= in Python)")
    return _cached("bicubic", None, max(1, math.ceil(scale - 1e-9)), None)


def _needs_weights(entry: ZooEntry) -> str:
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


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------


def upscale(
    image: np.ndarray | Image.Image,
    model: ModelLike = None,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    tile: int | Literal["auto"] | None = "auto",
    device: str = "auto",
    precision: Literal["fp32", "fp16", "bf16"] = "fp32",
    alpha: Literal["bicubic", "model"] = "bicubic",
) -> np.ndarray | Image.Image:
    """Upscale an image array or a PIL image; the result is of the same kind.

    ``image``: a uint8/uint16 NumPy array, ``HxW`` (grey), ``HxWx1``, ``HxWx3`` or ``HxWx4``
    (RGBA), returned with the same dtype and layout; or a PIL image, returned as a PIL image in
    the same mode where one exists (``L``, ``I;16``, ``RGB``, ``RGBA``, ``LA``); palette, CMYK and
    other colour modes come back ``RGB``/``RGBA``, ``1`` comes back ``L``. EXIF orientation is
    not applied here (use ``PIL.ImageOps.exif_transpose`` first); a PIL image's ICC profile is
    carried to the result when it still describes it.

    ``model``: a zoo name (with ``weights=``, except ``bicubic``), a checkpoint path (``.safetensors``
    or an official ``.pth``), or a loaded model (:func:`resolve_model`, ``zoo.load_model``).
    ``scale``: the output scale, by default the model's; another value resizes the model's
    output with MATLAB bicubic, as ``distillsr upscale -s`` does. ``tile``: ``"auto"`` (sized by
    a memory probe that takes seconds on a CPU), a tile side in pixels, or 0/None for none.
    """
    backend = resolve_model(model, weights=weights, scale=scale)
    outscale = output_scale(backend, scale)
    from distillsr.inference.upscaler import Upscaler

    upscaler = Upscaler(backend, device=device, precision=precision, tile=tile)
    from PIL import Image as PILImage

    if isinstance(image, PILImage.Image):
        return _upscale_pil(image, upscaler, outscale, alpha)
    if not isinstance(image, np.ndarray):
        raise DistillsrError(f"image must be a NumPy array or a PIL image, not {type(image).__name__}")
    return _upscale_array(image, upscaler, outscale, alpha)


def _upscale_array(image: np.ndarray, upscaler: Upscaler, outscale: float, alpha: str) -> np.ndarray:
    from distillsr.inference.batch import upscale_pixels

    out = upscale_pixels(upscaler, image, outscale, alpha=alpha)
    if image.ndim == 3 and image.shape[2] == 1:
        out = out[..., None]  # the engine drops a single channel axis; give back the caller's layout
    return out


# Pillow mode -> (how to get engine pixels, the mode the result is returned in).
_PIL_SAME = {"L": "L", "RGB": "RGB", "RGBA": "RGBA", "I;16": "I;16", "I;16L": "I;16", "I;16B": "I;16", "I;16N": "I;16"}
_PIL_CONVERTED = {"1": "L", "LA": "RGBA", "La": "RGBA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB",
                  "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


def _upscale_pil(image: Image.Image, upscaler: Upscaler, outscale: float, alpha: str) -> Image.Image:
    from PIL import Image as PILImage

    pixels, result_mode = _pil_pixels(image)
    out = _upscale_array(pixels, upscaler, outscale, alpha)
    result = PILImage.fromarray(out.astype("<u2") if out.dtype == np.uint16 else out)
    if result_mode == "LA":
        result = result.convert("LA")
    profile = image.info.get("icc_profile")
    if profile and image.mode not in ("CMYK", "LAB", "HSV", "YCbCr"):
        result.info["icc_profile"] = profile
    return result


def _has_transparency(image: Image.Image) -> bool:
    """Palette transparency must become alpha, or transparent pixels get a colour."""
    known = getattr(image, "has_transparency_data", None)  # Pillow >= 10.1
    return bool(known) if known is not None else "transparency" in image.info


def _pil_pixels(image: Image.Image) -> tuple[np.ndarray, str]:
    """Engine pixels for a PIL image, and the mode its result is given back in."""
    mode = image.mode
    if mode in _PIL_SAME:
        dtype = np.uint16 if mode.startswith("I;16") else np.uint8
        return np.asarray(image).astype(dtype), _PIL_SAME[mode]
    if mode == "P":
        converted = "RGBA" if _has_transparency(image) else "RGB"
        return np.asarray(image.convert(converted)), converted
    if mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise DistillsrError(f"mode I image has values {values.min()}..{values.max()} outside 0..65535")
        return values.astype(np.uint16), "I;16"
    if mode in _PIL_CONVERTED:
        target = _PIL_CONVERTED[mode]
        back = "LA" if mode in ("LA", "La") else target
        return np.asarray(image.convert(target)), back
    raise DistillsrError(f"PIL images of mode {mode} are not supported (convert to RGB, RGBA, L or I;16)")
