"""How a forward runs fast on this machine: the precision and memory layout chosen per device.

Two paths, and the user always knows which one ran:

* **exact** (``fp32``): float32 with the network in channels-last layout on the CPU (oneDNN's
  direct NHWC convolutions, 1.12-1.15x over NCHW for the official models). Outputs differ from
  eager NCHW float32 only by summation order, far below one 8-bit level.
* **reduced** (``bf16`` on a CPU with native bf16 dot products, ``fp16`` on a CUDA GPU):
  autocast, ~2-2.8x faster on an AVX512-BF16 CPU at a cost of a few thousandths of a dB
  (each model card states its measured Set5 ΔPSNR).

``auto`` takes the reduced path only where the hardware does the arithmetic natively (a CPU
without bf16 instructions emulates it and is slower than fp32), as Real-ESRGAN defaults to fp16
on a GPU; ``--fp32`` turns it off.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Iterator

import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.inference.precision_names import CHOICES as PRECISIONS
from distillsr.inference.precision_names import Precision, PrecisionChoice

__all__ = ["PRECISIONS", "Precision", "PrecisionChoice", "computing_at", "fast_input",
           "precision_for", "prepare_network", "resolve_precision"]
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_native_bf16(device: torch.device) -> bool:
    """bf16 done by the hardware: AVX512-BF16 or AMX on a CPU, bf16 support on a CUDA GPU."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


def resolve_precision(choice: str, device: torch.device) -> Precision:
    """The precision a run uses: ``auto`` is fp16 on CUDA, bf16 on a CPU with native bf16, else fp32."""
    if choice not in PRECISIONS:
        raise DistillsrError(f"precision must be one of {', '.join(PRECISIONS)}, not {choice!r}")
    if choice == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if has_native_bf16(device) else "fp32"
    if choice == "fp16" and device.type != "cuda":
        raise DistillsrError("fp16 needs a CUDA device; on the CPU use bf16 or fp32")
    return choice  # type: ignore[return-value]


def precision_for(model: object, choice: str, device: torch.device) -> Precision:
    """The precision ``model`` runs at: ``auto`` falls back to fp32 for a model that cannot take the reduced one.

    A model says what it may compute in by its ``dtypes`` (bicubic: float32 only); a backend that is
    not a torch network (an ONNX graph) runs as it was exported. Asking for a precision it cannot
    take is an error, not a silent fp32.
    """
    precision = resolve_precision(choice, device)
    if precision == "fp32":
        return precision
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    runs_torch = isinstance(getattr(model, "network", None), nn.Module)
    if runs_torch and dtype in getattr(model, "dtypes", ()):
        return precision
    if choice == "auto":
        return "fp32"
    name = getattr(model, "name", type(model).__name__)
    raise DistillsrError(f"model {name} runs in fp32 only (asked for {precision})")


def uses_channels_last(device: torch.device) -> bool:
    """NHWC pays on the CPU at every precision (oneDNN); on CUDA it pays only with tensor cores, so it is left to the user."""
    return device.type == "cpu"


def prepare_network(network: nn.Module, device: torch.device) -> nn.Module:
    """The network moved to ``device`` in eval mode, in the memory layout that is fast there."""
    network = network.to(device).eval()
    if uses_channels_last(device):
        network = network.to(memory_format=torch.channels_last)
    return network


@contextlib.contextmanager
def computing_at(precision: Precision, device: torch.device) -> Iterator[None]:
    """Autocast for the reduced precisions; nothing for fp32."""
    if precision == "fp32":
        yield
        return
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def fast_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The input in the layout :func:`prepare_network` gave the network (a copy only where it changes)."""
    if uses_channels_last(device) and x.ndim == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
