"""MATLAB-compatible ``imresize`` in NumPy and in PyTorch.

Every SR benchmark's LR images were made with MATLAB's ``imresize(HR, 1/s, 'bicubic')``. PIL,
OpenCV and ``torch.nn.functional.interpolate`` all differ from it (no antialiasing, other kernel
constants, other boundary rules), which is worth 0.1-0.5 dB of PSNR. This module follows MATLAB's
algorithm step by step:

* the output size is ``ceil(scale * input_size)``;
* output pixel ``x`` (1-based) maps to input coordinate ``u = x / scale + 0.5 * (1 - 1 / scale)``;
* the kernel is Keys' cubic with ``a = -0.5``; when downscaling it is widened by ``1 / scale``
  (antialiasing), so a x1/4 bicubic reads 18 input pixels per output pixel;
* weights are normalised to sum to one, and indices outside the image are mirrored
  (symmetric boundary: ``... 2 1 | 1 2 3 ... n | n n-1 ...``);
* the dimension with the strongest reduction is resized first (rows first on a tie);
* on ``uint8``/``uint16`` input the result of *each* 1-D pass is rounded half away from zero and
  saturated, as ``imresizemex`` does; float input is resized in float without rounding.

Both back ends share :func:`contributions`, computed in float64 exactly like MATLAB's
``contributions`` function, so they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Literal

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.rounding import matlab_cast

Method = Literal["bicubic", "bilinear", "nearest"]

# The tolerance below which ``scale * size`` is treated as an integer. MATLAB takes the ceiling of
# the floating-point product, so ``255 * (1/3)`` would be 85 or 86 depending on the last bit; SR
# code always means the integer, so a product within this distance of one is rounded to it.
_SIZE_TOLERANCE = 1e-9


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's ``cubic``."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


def _triangle(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``triangle`` (bilinear) kernel."""
    return (x + 1.0) * ((x >= -1) & (x < 0)) + (1.0 - x) * ((x >= 0) & (x <= 1))


def _box(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``box`` (nearest) kernel: half-open so that exactly one tap is selected."""
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


@dataclass(frozen=True)
class _Kernel:
    function: Callable[[np.ndarray], np.ndarray]
    width: float
    antialias_by_default: bool


_KERNELS: dict[str, _Kernel] = {
    "bicubic": _Kernel(_cubic, 4.0, True),
    "bilinear": _Kernel(_triangle, 2.0, True),
    # MATLAB switches antialiasing off for 'nearest' unless asked.
    "nearest": _Kernel(_box, 1.0, False),
}


def _kernel(method: str) -> _Kernel:
    try:
        return _KERNELS[method]
    except KeyError:
        raise DistillsrError(
            f"unknown resize method {method!r}; choose one of {', '.join(_KERNELS)}"
        ) from None


@lru_cache(maxsize=256)
def contributions(
    in_length: int, out_length: int, scale: float, method: str = "bicubic", antialias: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based source indices of a 1-D resize, as MATLAB's ``contributions``.

    Returns ``(weights, indices)``, both of shape ``(out_length, taps)``: output ``i`` is
    ``sum_j weights[i, j] * input[indices[i, j]]``. Columns whose weights are all zero are
    dropped, as MATLAB does. The arrays are cached and must not be modified.
    """
    kernel = _kernel(method)
    if antialias is None:
        antialias = kernel.antialias_by_default
    width = kernel.width
    if scale < 1 and antialias:
        def h(x: np.ndarray) -> np.ndarray:
            return scale * kernel.function(scale * x)

        width = width / scale
    else:
        h = kernel.function
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = h(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    weights = np.ascontiguousarray(weights[:, keep])
    indices = np.ascontiguousarray(indices[:, keep])
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


def output_size(in_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """MATLAB's output size ``ceil(scale * size)``, with float noise around integers removed."""
    sizes = []
    for length in in_size:
        exact = scale * length
        nearest = round(exact)
        sizes.append(int(nearest) if abs(exact - nearest) < _SIZE_TOLERANCE else int(math.ceil(exact)))
    return sizes[0], sizes[1]


def plan_resize(
    in_size: tuple[int, int],
    scale: float | None,
    size: tuple[int, int] | None,
) -> tuple[tuple[int, int], tuple[float, float], tuple[int, int]]:
    """Output size, per-dimension scale, and the order in which to resize the two dimensions."""
    if (scale is None) == (size is None):
        raise DistillsrError("imresize needs exactly one of a scale factor or an output size")
    if in_size[0] < 1 or in_size[1] < 1:
        raise DistillsrError(f"cannot resize an empty image of size {in_size[0]}x{in_size[1]}")
    if scale is not None:
        if not (scale > 0 and math.isfinite(scale)):
            raise DistillsrError(f"resize scale must be a positive number, got {scale}")
        out_size = output_size(in_size, scale)
        scales = (float(scale), float(scale))
    else:
        assert size is not None
        out_size = (int(size[0]), int(size[1]))
        if out_size[0] < 1 or out_size[1] < 1:
            raise DistillsrError(f"resize output size must be positive, got {out_size}")
        scales = (out_size[0] / in_size[0], out_size[1] / in_size[1])
    if out_size[0] < 1 or out_size[1] < 1:
        raise DistillsrError(f"resizing {in_size[0]}x{in_size[1]} by {scale} gives an empty image")
    # MATLAB's stable sort of the scales: strongest reduction first, rows first on a tie.
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    return out_size, scales, order


def _resize_axis_numpy(image: np.ndarray, axis: int, weights: np.ndarray, indices: np.ndarray) -> np.ndarray:
    shape = [1] * image.ndim
    shape[axis] = weights.shape[0]
    source = image.astype(np.float64, copy=False)
    # Accumulate tap by tap in MATLAB's order, so sums (and hence uint8 rounding) match exactly.
    out = np.zeros(1)
    for tap in range(weights.shape[1]):
        out = out + np.take(source, indices[:, tap], axis=axis) * weights[:, tap].reshape(shape)
    return out


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    method: Method = "bicubic",
    antialias: bool | None = None,
) -> np.ndarray:
    """Resize an ``H x W`` or ``H x W x C`` array exactly as MATLAB's ``imresize``.

    Give either ``scale`` (e.g. ``1/4``) or ``size=(height, width)``. Integer input comes back
    rounded to its own dtype after each 1-D pass (MATLAB's behaviour, which the official LR files
    depend on); float input comes back as float64 without rounding or clipping.
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise DistillsrError(f"imresize expects an HxW or HxWxC array, got shape {array.shape}")
    integer = np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    integer_dtype = array.dtype
    out_size, scales, order = plan_resize(array.shape[:2], scale, size)
    for axis in order:
        weights, indices = contributions(array.shape[axis], out_size[axis], scales[axis], method, antialias)
        resized = _resize_axis_numpy(array, axis, weights, indices)
        array = matlab_cast(resized, integer_dtype) if integer else resized
    if not integer:
        return array.astype(np.float64, copy=False)
    return array


def _resize_axis_torch(image, axis: int, weights: np.ndarray, indices: np.ndarray):
    import torch

    # The cached arrays are read-only; torch.tensor copies them (they are small).
    weight = torch.tensor(weights, dtype=image.dtype, device=image.device)
    index = torch.tensor(indices, dtype=torch.long, device=image.device)
    shape = [1] * image.ndim
    shape[axis] = weights.shape[0]
    out = None
    for tap in range(weights.shape[1]):
        term = image.index_select(axis, index[:, tap]) * weight[:, tap].reshape(shape)
        out = term if out is None else out + term
    return out


def imresize_torch(
    image,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    method: Method = "bicubic",
    antialias: bool | None = None,
):
    """MATLAB ``imresize`` on a tensor of shape ``(..., H, W)``: batched, differentiable, any device.

    Floating tensors are resized in their own dtype (use float64 for bit-exact agreement with
    MATLAB). Integer tensors (``uint8`` images) are resized in float64 and rounded after each pass
    like MATLAB, so ``imresize_torch(uint8)`` equals :func:`imresize` on the same pixels.
    """
    import torch

    if not isinstance(image, torch.Tensor):
        raise DistillsrError(f"imresize_torch expects a torch.Tensor, got {type(image).__name__}")
    if image.ndim < 2:
        raise DistillsrError(f"imresize_torch expects a tensor of shape (..., H, W), got {tuple(image.shape)}")
    integer = not (image.is_floating_point() or image.is_complex())
    out_size, scales, order = plan_resize((image.shape[-2], image.shape[-1]), scale, size)
    work = image.to(torch.float64) if integer else image
    for spatial in order:
        axis = image.ndim - 2 + spatial
        weights, indices = contributions(work.shape[axis], out_size[spatial], scales[spatial], method, antialias)
        work = _resize_axis_torch(work, axis, weights, indices)
        if integer:
            info = torch.iinfo(image.dtype)
            work = (torch.sign(work) * torch.floor(work.abs() + 0.5)).clamp(info.min, info.max)
    return work.to(image.dtype) if integer else work
