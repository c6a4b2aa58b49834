"""The one conversion between image arrays and model tensors, used by eval, upscale, training and export.

The rules, in one place so that no two paths of the toolkit disagree about a grey or RGBA image:

* **Values.** ``uint8``/``uint16`` pixels are divided by their full-scale value in float32 (the
  exact float32 the official scripts feed their models); float arrays must already hold finite
  values in [0, 1]. Models always see [0, 1]; a network trained on 0-255 scales inside
  :class:`~distillsr.models.sr_model.SRModel`.
* **Channels in.** Grey goes through a three-channel model as replicated RGB (the convention the
  reference scores use); the alpha of grey+alpha and RGBA is dropped here — callers that keep alpha
  upscale it separately. Any other mismatch is an error naming both counts.
* **Channels out.** :func:`tensor_to_image` returns every channel the model produced. For a grey
  input through an RGB model, ``grey=True`` brings the float output back to one channel with the
  luma of :func:`~distillsr.imaging.color.rgb_to_grey` *before* rounding (what the upscaler writes);
  evaluation instead keeps RGB, so the scorer rounds to 8 bits first and then takes the luma, as
  the papers' MATLAB scripts do with their saved PNGs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    import torch

_ALPHA_LAYOUTS = (2, 4)  # grey+alpha and RGBA: the last channel is alpha


def match_channels(image: np.ndarray, channels: int | None) -> np.ndarray:
    """``image`` as ``HxWxC`` with ``C == channels`` (grey replicated, alpha dropped).

    ``channels=None`` keeps the colour channels as they are (alpha still dropped). The result
    shares memory with ``image`` where it can; it is not necessarily contiguous.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] < 1:
        raise DistillsrError(f"expected an HxW or HxWxC image, got shape {array.shape}")
    if array.shape[2] in _ALPHA_LAYOUTS:
        array = array[..., :-1]
    if channels is None or array.shape[2] == channels:
        return array
    if array.shape[2] == 1:
        return np.repeat(array, channels, axis=2)
    raise DistillsrError(f"the model takes {channels} channel(s) but the image has {array.shape[2]}")


def to_unit_float32(image: np.ndarray) -> np.ndarray:
    """Integer pixels divided by full scale in float32; a float image checked to lie in [0, 1]."""
    array = np.asarray(image)
    if array.dtype in (np.uint8, np.uint16):
        return array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    if np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if values.size and (not np.isfinite(values).all() or values.min() < 0 or values.max() > 1):
            raise DistillsrError("a float image must hold finite values in [0, 1]")
        return values
    raise DistillsrError(f"images must be uint8, uint16 or float in [0, 1], not {array.dtype}")


def image_to_tensor(image: np.ndarray, channels: int | None = None, *, batch: bool = True) -> torch.Tensor:
    """An ``HxW[xC]`` image as a float32 ``(1, C, H, W)`` tensor in [0, 1] (``(C, H, W)`` without ``batch``)."""
    import torch

    planes = to_unit_float32(match_channels(image, channels)).transpose(2, 0, 1)
    tensor = torch.from_numpy(np.ascontiguousarray(planes))
    return tensor[None] if batch else tensor


def tensor_to_image(tensor: torch.Tensor, *, grey: bool = False) -> np.ndarray:
    """A ``(1, C, H, W)`` or ``(C, H, W)`` tensor as float ``HxWxC`` (``HxW`` for one channel), unclipped.

    ``grey=True`` turns a three-channel result into one channel (luma, float64) — for a grey
    input that a colour model upscaled; the values are not rounded or clipped either way.
    """
    import torch

    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise DistillsrError(f"expected one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    if tensor.ndim != 3:
        raise DistillsrError(f"expected a (1, C, H, W) or (C, H, W) tensor, got shape {tuple(tensor.shape)}")
    array = tensor.detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0)
    if grey and array.shape[2] == 3:
        from distillsr.imaging.color import rgb_to_grey

        return rgb_to_grey(array)
    return array[..., 0] if array.shape[2] == 1 else array


PIXEL_CHUNK_ROWS = 256  # float64 rows converted at a time: 256 x 5120 x 3 x 8 B = 31 MB, under glibc's mmap ceiling


def tensor_to_pixels(tensor: torch.Tensor, dtype: np.dtype | type) -> np.ndarray:
    """A ``(1, C, H, W)`` float result as ``HxWxC`` uint8/uint16 pixels, exactly as :func:`from_float` maps them.

    The same float64 arithmetic (clip to [0, 1], ``floor(v * max + 0.5)``) done in torch on row
    chunks, in place: :func:`from_float` on a whole x4 720p output spends 3 s in float64 temporaries
    and strided copies, more than the network itself. NaN raises as there.
    """
    import torch

    from distillsr.errors import NonFiniteValuesError
    from distillsr.imaging.pixels import full_scale

    target = np.dtype(dtype)
    max_value = full_scale(target)
    if max_value is None:
        raise DistillsrError(f"tensor_to_pixels can produce uint8 or uint16, not {target}")
    if tensor.ndim != 4 or tensor.shape[0] != 1:
        raise DistillsrError(f"expected a (1, C, H, W) tensor, got shape {tuple(tensor.shape)}")
    _, channels, height, width = tensor.shape
    out = np.empty((height, width, channels), dtype=target)
    store = torch.from_numpy(out.view(np.int16) if target == np.uint16 else out)  # torch has no uint16 arithmetic
    for top in range(0, height, PIXEL_CHUNK_ROWS):
        rows = tensor[0, :, top : top + PIXEL_CHUNK_ROWS].to(torch.float64)
        if bool(torch.isnan(rows).any()):
            raise NonFiniteValuesError(f"cannot convert NaN values to {target} pixels")
        levels = rows.clamp_(0.0, 1.0).mul_(max_value).add_(0.5).floor_()
        if target == np.uint16:
            levels = levels.to(torch.int32).to(torch.int16)  # same bits as the uint16 value
        store[top : top + rows.shape[1]] = levels.permute(1, 2, 0).to(store.dtype)
    return out
