"""The upscaling engine behind ``distillsr upscale`` and :func:`distillsr.upscale`.

:class:`Upscaler` turns an image array (uint8 or uint16; grey, RGB or RGBA) into the upscaled
array of the same kind, keeping what users care about: greyscale stays greyscale, alpha is
upscaled separately, 16-bit stays 16-bit (processed in float).

Speed (:mod:`distillsr.inference.fast_path`): the network runs channels-last on the CPU, and with
``precision="auto"`` in bf16 where the CPU has native bf16 (fp16 on CUDA); ``fp32`` is the exact
path. A reduced-precision tile that comes back non-finite or black where its input is not is
redone in fp32, with a warning, instead of producing a black patch.

Tiling is decided by cost (:mod:`distillsr.inference.memory_model`): the forward's peak memory is
counted from the model once, and an image whose forward fits the memory budget is run whole, so
its output is exactly the untiled one. A larger image is cut into the fewest, widest tiles the
budget allows (full-width strips where they fit), each with context around it
(:mod:`distillsr.inference.tiling`).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from distillsr.console import get_logger
from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError
from distillsr.imaging.pixels import from_float
from distillsr.imaging.tensors import image_to_tensor, tensor_to_image, tensor_to_pixels
from distillsr.inference.fast_path import precision_for, prepare_network
from distillsr.inference.forward import check_finite, forward, looks_broken
from distillsr.inference.memory_model import (
    ForwardMemory,
    forward_memory,
    model_signature,
    read_cached,
    spendable,
    store_cached,
)
from distillsr.inference.precision_names import Precision, PrecisionChoice
from distillsr.inference.tiling import TileShape, run_tiled, tiles_per_pass

log = get_logger(__name__)

AlphaMode = Literal["bicubic", "model"]

DEFAULT_PAD = 24
DEFAULT_PASSES = 2
MIN_TILE = 32
# A strip needs this many core rows to be worth its 2 x pad rows of context; below it, square tiles.
MIN_STRIP_ROWS = 96
# On the CPU, a forward may use this share of the memory the system reports available (a 720p
# forward counts 0.55 GB for DIPNet in bf16, 3.9 GB for DDistill-SR in fp32): tiling a model that
# pools globally costs two passes, so memory that is free is better spent than kept. --max-memory
# (``memory_limit``) caps it.
CPU_MEMORY_SHARE = 0.5
CUDA_MEMORY_SHARE = 0.6
# Where the forward cannot be counted (an exported graph), assume a mid-sized model's bytes per pixel.
UNCOUNTED_BYTES_PER_PIXEL = 4096.0


class Backend(Protocol):
    """What the engine needs of a model: its scale and channels, and a call on [0, 1] tensors."""

    name: str
    scale: int
    in_channels: int | None

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@dataclass
class TileSettings:
    tile: int | Literal["auto"] | None = "auto"  # None or 0: no tiling
    pad: int = DEFAULT_PAD
    passes: int = DEFAULT_PASSES


def _available_cpu_memory() -> int:
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30  # a conservative guess where /proc is not available


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(error, oom):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def plan_tile_shape(height: int, width: int, pixels: int, pad: int) -> TileShape | None:
    """The tile (core rows, core columns) for an image whose forward may hold ``pixels`` input pixels.

    None when the whole image fits. Otherwise full-width strips when a strip of at least
    ``MIN_STRIP_ROWS`` core rows fits (the least context recomputed per output pixel), else the
    largest square. A window is the core plus ``pad`` on each side.
    """
    if height * width <= pixels:
        return None
    rows = pixels // (width + 2 * pad) - 2 * pad if width + 2 * pad > 0 else 0
    if rows >= MIN_STRIP_ROWS:
        return (min(rows, height), width)
    side = max(MIN_TILE, math.isqrt(max(pixels, 0)) - 2 * pad)
    return (min(side, height), min(side, width))


class Upscaler:
    """Upscale arrays or tensors with a model, tiled where memory needs it, on a device, at a precision."""

    def __init__(
        self,
        model: Backend,
        *,
        device: str | torch.device = "auto",
        precision: PrecisionChoice = "auto",
        tile: int | Literal["auto"] | None = "auto",
        pad: int = DEFAULT_PAD,
        passes: int = DEFAULT_PASSES,
        progress: bool = False,
        width_for: Callable[[torch.Tensor], float] | None = None,
        memory_limit: int | None = None,
    ) -> None:
        self.model = model
        if memory_limit is not None and memory_limit <= 0:
            raise DistillsrError(f"memory limit must be positive, not {memory_limit}")
        self.memory_limit = memory_limit
        network = getattr(model, "network", None)
        self.network: nn.Module | None = network if isinstance(network, nn.Module) else None
        self.device = resolve_device(device)
        self.precision: Precision = precision_for(model, precision, self.device)
        if isinstance(tile, int) and tile < 0 or pad < 0 or passes < 1:
            raise DistillsrError("tile size and pad must be non-negative and passes at least 1")
        self.settings = TileSettings(tile if tile != 0 else None, pad, passes)
        self.progress = progress
        # dynamic inference: the width each tile window (core + context) runs at; see inference.width_policy
        self.width_for = width_for
        self._image_width: float | None = None  # set per image for a model that pools globally
        if width_for is not None and not hasattr(self.network, "set_width"):
            raise DistillsrError(f"{model.name} has no switchable width: per-tile widths need a slimmable torch model")
        self.warnings: list[str] = []
        self._memory: dict[int, ForwardMemory] = {}
        if self.network is not None:
            self.network = prepare_network(self.network, self.device)

    @property
    def scale(self) -> int:
        return self.model.scale

    # --- one tile --------------------------------------------------------------------------

    def _forward_at(self, x: torch.Tensor, precision: Precision) -> torch.Tensor:
        if self.network is None:
            return self.model(x)
        return forward(self.model, x, precision, self.device)

    def forward_tile(self, tile: torch.Tensor) -> torch.Tensor:
        """Upscale one host tile on the device; redo it in fp32 if reduced precision broke it.

        With ``width_for``, the tile runs at the width it returns for the tile (chosen once, so a
        redo in fp32 runs at the same width), or at its image's width (see :meth:`_choose_image_width`).
        """
        x = tile.to(self.device, non_blocking=True)
        chosen = self._image_width if self._image_width is not None or self.width_for is None else self.width_for(tile)
        with torch.inference_mode(), _at_width(self.network, chosen):
            out = self._forward_at(x, self.precision)
            if self.precision != "fp32" and looks_broken(x, out):
                message = f"{self.precision} gave a non-finite or black tile; redone in fp32"
                if message not in self.warnings:
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
                    self.warnings.append(message)
                out = self._forward_at(x, "fp32")
            check_finite(out, self.model)
        return out.float().cpu()

    # --- tile size -----------------------------------------------------------------------

    def memory_budget(self) -> int:
        """Bytes one forward may hold: a share of what is free, at most ``memory_limit``."""
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            budget = int(free * CUDA_MEMORY_SHARE)
        else:
            budget = int(_available_cpu_memory() * CPU_MEMORY_SHARE)
        return budget if self.memory_limit is None else min(budget, self.memory_limit)

    def forward_memory(self, channels: int) -> ForwardMemory:
        """The forward's peak memory as a function of its input size, counted once per channel count."""
        if channels in self._memory:
            return self._memory[channels]
        if self.network is None:
            counted = ForwardMemory(0.0, UNCOUNTED_BYTES_PER_PIXEL)
        else:
            signature = model_signature(self.model, self.precision, self.device, channels)
            counted = read_cached(signature) if signature else None
            if counted is None:
                side = max(32, getattr(self.model, "min_size", 1) or 1)
                counted = forward_memory(
                    lambda x: self._forward_at(x, self.precision),
                    lambda h, w: torch.rand(1, channels, h, w, device=self.device),
                    [*self.network.parameters(), *self.network.buffers()],
                    sides=(side, 2 * side),
                )
                if signature:
                    store_cached(signature, counted)
        log.debug(f"forward memory for {channels} channel(s): {counted}")
        self._memory[channels] = counted
        return counted

    def tile_shape(self, height: int, width: int, channels: int) -> TileShape | None:
        """The tile an image of this size is cut into, or None to run it whole."""
        tile = self.settings.tile
        if tile is None:
            return None
        if tile != "auto":
            return None if tile >= max(height, width) else (int(tile), int(tile))
        pixels = self.forward_memory(channels).pixels_within(spendable(self.memory_budget()))
        return plan_tile_shape(height, width, pixels, self.settings.pad)

    # --- whole images ----------------------------------------------------------------------

    def upscale_tensor(self, x: torch.Tensor, sink=None) -> torch.Tensor | None:
        """Upscale a ``(1, C, H, W)`` float tensor in [0, 1] (host memory).

        Without ``sink`` the result is returned as one float tensor; with a ``sink(row, rows)``
        finished output rows are streamed to it and nothing is returned (bounded memory).
        """
        if x.ndim != 4 or x.shape[0] != 1:
            raise DistillsrError(f"expected a (1, C, H, W) tensor, got shape {tuple(x.shape)}")
        x = x.detach().float().cpu()
        canvas: dict[str, torch.Tensor] = {}
        if sink is None:
            def sink(row: int, rows: torch.Tensor) -> None:
                if row == 0 and rows.shape[2] == x.shape[2] * self.scale:
                    canvas["out"] = rows  # the whole image in one piece: no copy
                    return
                if "out" not in canvas:
                    canvas["out"] = torch.empty(1, rows.shape[1], x.shape[2] * self.scale, x.shape[3] * self.scale)
                canvas["out"][:, :, row : row + rows.shape[2]] = rows

        height, width = x.shape[-2:]
        shape = self.tile_shape(height, width, x.shape[1])
        self._choose_image_width(x)
        while True:
            try:
                self._run(x, shape, sink)
                break
            except Exception as error:  # shrink and retry on out-of-memory only
                smaller = _halved(shape or (height, width)) if is_out_of_memory(error) else None
                if smaller is None:
                    if is_out_of_memory(error):
                        raise DistillsrError(
                            f"out of memory even with {MIN_TILE}-px tiles on {self.device}; free memory or use another device"
                        ) from None
                    raise
                shape = smaller
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                message = f"out of memory: retrying with {shape[0]}x{shape[1]}-px tiles"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                self.warnings.append(message)
        return canvas.get("out")

    def _choose_image_width(self, x: torch.Tensor) -> None:
        """One width for the whole image where tiles cannot differ: a model that pools globally sums
        whole-image statistics over its tiles, which needs the same channels in every tile."""
        hint = getattr(self.model, "tiling", None)
        pools = hint is not None and hint.pools_globally
        self._image_width = self.width_for(x) if self.width_for is not None and pools else None

    def _run(self, x: torch.Tensor, shape: TileShape | None, sink) -> None:
        from distillsr.console import progress_bar
        from distillsr.models.sr_model import TilingHint

        height, width = x.shape[-2:]
        if shape is None or (shape[0] >= height and shape[1] >= width):
            sink(0, self.forward_tile(x))  # the image fits: one forward, exactly the untiled result
            return
        # the model's own hint (an SRModel reads it from its layers); a backend without one gets its minimum
        hint = getattr(self.model, "tiling", None) or TilingHint(min_size=getattr(self.model, "min_size", 1))
        passes = hint.passes(self.settings.passes)  # only a model that pools globally needs more than one
        total = tiles_per_pass(height, width, shape) * passes
        with progress_bar(total=total, unit="tile", enabled=self.progress and total > 1, leave=False) as bar:
            pad = hint.pad(self.settings.pad)  # a window must hold the model's minimum input, even at the last tile
            run_tiled(
                self.forward_tile, x, self.scale, sink,
                tile=shape, pad=pad, passes=passes, model=self.network,
                on_tile=lambda: bar.update(1),
            )

    def upscale_array(self, image: np.ndarray, *, alpha: AlphaMode = "bicubic") -> np.ndarray:
        """Upscale a uint8/uint16 ``HxW``, ``HxWx3`` or ``HxWx4`` image to the same dtype and layout."""
        image = np.asarray(image)
        if image.dtype not in (np.uint8, np.uint16):
            raise DistillsrError(f"images must be uint8 or uint16, not {image.dtype}")
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise DistillsrError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}")
        if alpha not in ("bicubic", "model"):
            raise DistillsrError(f"alpha mode must be 'bicubic' or 'model', not {alpha!r}")
        height, width = image.shape[:2]
        if min(height, width) < 1:
            raise DistillsrError(f"image of {height}x{width} pixels is empty")
        channels = 1 if image.ndim == 2 else image.shape[2]
        out = np.empty((height * self.scale, width * self.scale) + ((channels,) if channels > 1 else ()), image.dtype)
        colour = image if image.ndim == 2 else image[..., :3]
        self._upscale_into(colour, out if image.ndim == 2 else out[..., :3], grey=image.ndim == 2)
        if channels == 4:
            self._upscale_alpha(image[..., 3], out[..., 3], alpha)
        return out

    def _upscale_into(self, colour: np.ndarray, target: np.ndarray, *, grey: bool) -> None:
        x = image_to_tensor(colour, self.model.in_channels if grey else None)

        def sink(row: int, rows: torch.Tensor) -> None:
            if grey:
                target[row : row + rows.shape[2]] = from_float(tensor_to_image(rows, grey=True), target.dtype)
            else:
                target[row : row + rows.shape[2]] = tensor_to_pixels(rows, target.dtype)

        self.upscale_tensor(x, sink)

    def _upscale_alpha(self, alpha: np.ndarray, target: np.ndarray, mode: AlphaMode) -> None:
        if mode == "model":
            self._upscale_into(alpha, target, grey=True)
            return
        from distillsr.models.bicubic import BicubicUpsampler

        bicubic = _CallableBackend(BicubicUpsampler(self.scale, emulate_uint8=False), self.scale)
        Upscaler(bicubic, device="cpu", precision="fp32",
                 tile=self.settings.tile if self.settings.tile != "auto" else 512, pad=8, passes=1)._upscale_into(alpha, target, grey=True)


@dataclass
class _CallableBackend:
    network: nn.Module
    scale: int
    name: str = "bicubic"
    in_channels: int | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


def _at_width(network: nn.Module | None, value: float | None):
    """Run a slimmable ``network`` at ``value`` inside the block; nothing when ``value`` is None."""
    if value is None:
        return contextlib.nullcontext()
    from distillsr.nn.slimmable import width

    return width(network, value)


def _halved(shape: TileShape) -> TileShape | None:
    """The next tile to try after running out of memory: the longer side halved; None below the minimum."""
    rows, cols = shape
    if max(rows, cols) <= MIN_TILE:
        return None
    if rows >= cols:
        return (max(MIN_TILE, rows // 2), cols)
    return (rows, max(MIN_TILE, cols // 2))
