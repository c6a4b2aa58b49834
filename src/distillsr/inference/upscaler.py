"""The upscaling engine behind ``distillsr upscale`` and :func:`distillsr.upscale`.

:class:`Upscaler` turns an image array (uint8 or uint16; grey, RGB or RGBA) into the upscaled
array of the same kind, keeping what users care about: greyscale stays greyscale, alpha is
upscaled separately, 16-bit stays 16-bit (processed in float), and the model sees the image tile
by tile (:mod:`distillsr.inference.tiling`) so memory stays bounded whatever the image size.

Reduced precision (fp16/bf16) is a CUDA option; a tile that comes back non-finite or black where
its input is not is redone in fp32, with a warning, instead of producing a black patch.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from distillsr.console import get_logger
from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError
from distillsr.imaging.pixels import from_float
from distillsr.imaging.tensors import image_to_tensor, tensor_to_image
from distillsr.inference.predict import non_finite_output_message
from distillsr.inference.tiling import run_tiled, tiles_per_pass

log = get_logger(__name__)

Precision = Literal["fp32", "fp16", "bf16"]
AlphaMode = Literal["bicubic", "model"]

DEFAULT_PAD = 24
DEFAULT_PASSES = 2
MIN_TILE = 32
MAX_AUTO_TILE = 1024
PROBE_SIZE = 96
# On the CPU, tiles may use this share of the memory the system reports available, and at most
# this much in absolute terms, so a 4K x4 upscale stays within ~3 GB peak RSS.
CPU_MEMORY_SHARE = 0.25
CPU_MEMORY_CAP = 768 << 20
CUDA_MEMORY_SHARE = 0.6


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


class Upscaler:
    """Upscale arrays or tensors with a model, tiled, on a device, at a precision."""

    def __init__(
        self,
        model: Backend,
        *,
        device: str | torch.device = "auto",
        precision: Precision = "fp32",
        tile: int | Literal["auto"] | None = "auto",
        pad: int = DEFAULT_PAD,
        passes: int = DEFAULT_PASSES,
        progress: bool = False,
    ) -> None:
        self.model = model
        network = getattr(model, "network", None)
        self.network: nn.Module | None = network if isinstance(network, nn.Module) else None
        self.device = resolve_device(device)
        if precision not in ("fp32", "fp16", "bf16"):
            raise DistillsrError(f"precision must be fp32, fp16 or bf16, not {precision!r}")
        if precision != "fp32" and self.device.type != "cuda":
            raise DistillsrError(f"{precision} needs a CUDA device; on the CPU use fp32")
        self.precision = precision
        if isinstance(tile, int) and tile < 0 or pad < 0 or passes < 1:
            raise DistillsrError("tile size and pad must be non-negative and passes at least 1")
        self.settings = TileSettings(tile if tile != 0 else None, pad, passes)
        self.progress = progress
        self.warnings: list[str] = []
        self._auto_tiles: dict[int, int] = {}
        if self.network is not None:
            self.network.to(self.device).eval()

    @property
    def scale(self) -> int:
        return self.model.scale

    # --- one tile --------------------------------------------------------------------------

    def _forward_at(self, x: torch.Tensor, precision: Precision) -> torch.Tensor:
        if precision == "fp32":
            return self.model(x)
        dtype = torch.float16 if precision == "fp16" else torch.bfloat16
        with torch.autocast(device_type=self.device.type, dtype=dtype):
            return self.model(x).float()

    def forward_tile(self, tile: torch.Tensor) -> torch.Tensor:
        """Upscale one host tile on the device; redo it in fp32 if reduced precision broke it."""
        x = tile.to(self.device, non_blocking=True)
        with torch.inference_mode():
            out = self._forward_at(x, self.precision)
            if self.precision != "fp32" and _looks_broken(x, out):
                message = f"{self.precision} gave a non-finite or black tile; redone in fp32"
                if message not in self.warnings:
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
                    self.warnings.append(message)
                out = self._forward_at(x, "fp32")
            if not bool(torch.isfinite(out).all()):
                raise DistillsrError(non_finite_output_message(self.model))
        return out.float().cpu()

    # --- tile size -----------------------------------------------------------------------

    def _memory_budget(self) -> int:
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            return int(free * CUDA_MEMORY_SHARE)
        return int(min(_available_cpu_memory() * CPU_MEMORY_SHARE, CPU_MEMORY_CAP))

    def _bytes_per_pixel(self, channels: int) -> float:
        """Peak memory of one probe tile, per input pixel (measured, since models differ 10x)."""
        from distillsr.efficiency.memory import measure_peak_memory

        if self.network is None:
            return 4096.0  # exported graphs cannot be probed; assume a mid-sized model
        probe = _ProbeModule(self, channels)
        stats = measure_peak_memory(probe, (1, channels, PROBE_SIZE, PROBE_SIZE), device=self.device, warmup=1)
        return max(stats.peak_bytes, 1) / (PROBE_SIZE * PROBE_SIZE)

    def auto_tile(self, channels: int) -> int:
        """The largest square tile (with its pad) whose activations fit the memory budget.

        Measured once per channel count and remembered: the probe costs a few seconds on a CPU.
        """
        if channels not in self._auto_tiles:
            side = math.isqrt(int(self._memory_budget() / self._bytes_per_pixel(channels)))
            self._auto_tiles[channels] = int(max(MIN_TILE, min(MAX_AUTO_TILE, side - 2 * self.settings.pad)))
            log.debug(f"auto tile for {channels} channel(s): {self._auto_tiles[channels]} px "
                      f"(budget {self._memory_budget() >> 20} MiB on {self.device})")
        return self._auto_tiles[channels]

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
                if "out" not in canvas:
                    canvas["out"] = torch.empty(1, rows.shape[1], x.shape[2] * self.scale, x.shape[3] * self.scale)
                canvas["out"][:, :, row : row + rows.shape[2]] = rows

        tile = self.settings.tile
        if tile == "auto":
            tile = self.auto_tile(x.shape[1])
        if tile is None:
            tile = max(x.shape[2], x.shape[3])
        while True:
            try:
                self._run(x, int(tile), sink)
                break
            except Exception as error:  # shrink and retry on out-of-memory only
                if not is_out_of_memory(error) or tile <= MIN_TILE:
                    if is_out_of_memory(error):
                        raise DistillsrError(
                            f"out of memory even with {tile}-px tiles on {self.device}; free memory or use another device"
                        ) from None
                    raise
                tile = max(MIN_TILE, tile // 2)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                message = f"out of memory: retrying with {tile}-px tiles"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                self.warnings.append(message)
        return canvas.get("out")

    def _run(self, x: torch.Tensor, tile: int, sink) -> None:
        from tqdm import tqdm

        from distillsr.models.sr_model import TilingHint

        height, width = x.shape[-2:]
        # the model's own hint (an SRModel reads it from its layers); a backend without one gets its minimum
        hint = getattr(self.model, "tiling", None) or TilingHint(min_size=getattr(self.model, "min_size", 1))
        passes = hint.passes(self.settings.passes)  # only a model that pools globally needs more than one
        total = tiles_per_pass(height, width, tile) * (passes if tile < max(height, width) else 1)
        with tqdm(total=total, unit="tile", disable=not self.progress or total <= 1, leave=False) as bar:
            pad = hint.pad(self.settings.pad)  # a window must hold the model's minimum input, even at the last tile
            run_tiled(
                self.forward_tile, x, self.scale, sink,
                tile=tile, pad=pad, passes=passes, model=self.network,
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
            target[row : row + rows.shape[2]] = from_float(tensor_to_image(rows, grey=grey), target.dtype)

        self.upscale_tensor(x, sink)

    def _upscale_alpha(self, alpha: np.ndarray, target: np.ndarray, mode: AlphaMode) -> None:
        if mode == "model":
            self._upscale_into(alpha, target, grey=True)
            return
        from distillsr.models.bicubic import BicubicUpsampler

        bicubic = _CallableBackend(BicubicUpsampler(self.scale, emulate_uint8=False), self.scale)
        Upscaler(bicubic, device="cpu", tile=self.settings.tile if self.settings.tile != "auto" else 512,
                 pad=8, passes=1)._upscale_into(alpha, target, grey=True)


@dataclass
class _CallableBackend:
    network: nn.Module
    scale: int
    name: str = "bicubic"
    in_channels: int | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


class _ProbeModule(nn.Module):
    """Wraps the backend call so the memory probe measures exactly what a tile costs."""

    def __init__(self, upscaler: Upscaler, channels: int) -> None:
        super().__init__()
        self.upscaler = upscaler
        self.network = upscaler.network
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upscaler._forward_at(x, self.upscaler.precision)


def _looks_broken(x: torch.Tensor, out: torch.Tensor) -> bool:
    """Non-finite values, or an all-black output for an input that is not black."""
    if not torch.isfinite(out).all():
        return True
    return bool(out.abs().max() < 1e-6 and x.abs().max() > 1e-3)
