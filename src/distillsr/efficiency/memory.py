"""Peak memory one forward pass needs on top of what is already allocated.

The model's weights and the input are allocated before the measurement starts, so the number is
the extra memory of inference itself: intermediate feature maps, workspace and the output. NTIRE's
"max memory" column is the CUDA figure measured this way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from distillsr.efficiency._rss import peak_rss_increase, release_freed_memory
from distillsr.efficiency._setup import (
    DEFAULT_INPUT_SHAPE,
    DeviceLike,
    forward,
    make_input,
    prepared,
    resolve_device,
    validate_shape,
)
from distillsr.errors import DistillsrError

METHOD_CUDA = "cuda-max_memory_allocated"


@dataclass(frozen=True)
class MemoryStats:
    """Peak extra bytes of one forward pass on ``device``; ``method`` says how it was measured.

    On CPU it is the rise in resident set size (RSS), which also sees allocations outside torch's
    allocator (oneDNN scratch space, thread stacks) but is page-granular; on CUDA it is torch's
    own allocator count, which excludes the CUDA context and cuDNN/cuBLAS workspaces that torch
    does not allocate.

    ``method`` is one of ``"linux-clear_refs-vmhwm"`` (exact), ``"vmrss-sampling-1ms"`` (lower
    bound), ``"getrusage-maxrss"`` (loose lower bound) or ``"cuda-max_memory_allocated"``; see
    :mod:`distillsr.efficiency._rss` for why each is used.
    """

    peak_bytes: int
    device: str
    method: str


def _peak_cuda(run: Callable[[], object], device: torch.device) -> int:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    run()
    torch.cuda.synchronize(device)
    return max(torch.cuda.max_memory_allocated(device) - before, 0)


def measure_peak_memory(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    device: DeviceLike = "cpu",
    dtype: torch.dtype = torch.float32,
    warmup: int = 1,
) -> MemoryStats:
    """Measure the peak extra memory of one eval-mode ``torch.inference_mode`` forward.

    ``warmup`` untimed forwards run first so one-off allocations (thread pools, kernel caches,
    lazily built buffers) are not charged to the measured pass; freed memory is then returned to
    the OS so the measured pass has to fault its working set in again and is seen in full.
    """
    if warmup < 0:
        raise DistillsrError(f"warmup must be non-negative, got {warmup}")
    shape = validate_shape(input_shape)
    dev = resolve_device(device)
    with prepared(model, dev, dtype) as target, torch.inference_mode():
        x = make_input(shape, dev, dtype)

        def run() -> None:
            forward(target, x)  # output is dropped on return, after the peak was reached

        for _ in range(warmup):
            run()
        if dev.type == "cuda":
            return MemoryStats(peak_bytes=_peak_cuda(run, dev), device=str(dev), method=METHOD_CUDA)
        release_freed_memory()
        peak, method = peak_rss_increase(run)
    return MemoryStats(peak_bytes=peak, device=str(dev), method=method)
