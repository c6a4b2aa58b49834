"""Wall-clock latency of one forward pass.

Reported as a median with its interquartile range because single-run timings on a shared machine
are noisy and skewed by occasional slow outliers; the mean alone would be dragged by those.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

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


@dataclass(frozen=True)
class RuntimeStats:
    """Per-forward latency in milliseconds over ``repeats`` timed runs after ``warmup`` runs.

    ``threads`` is ``torch.get_num_threads()`` at measurement time: CPU timings are meaningless
    without it. ``iqr_ms`` is ``p75_ms - p25_ms``.
    """

    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p25_ms: float
    p75_ms: float
    iqr_ms: float
    repeats: int
    warmup: int
    device: str
    threads: int
    dtype: str


def _time_cpu(run: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _time_cuda(run: Callable[[], object], repeats: int, device: torch.device) -> list[float]:
    """Time with CUDA events: kernels run asynchronously, so host clocks would time the launch."""
    times = []
    with torch.cuda.device(device):
        for _ in range(repeats):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            run()
            end.record()
            torch.cuda.synchronize(device)
            times.append(float(start.elapsed_time(end)))
    return times


def time_runs(run: Callable[[], object], repeats: int, device: torch.device) -> list[float]:
    """Milliseconds of each of ``repeats`` calls: CUDA events on a GPU, the host clock elsewhere."""
    return _time_cuda(run, repeats, device) if device.type == "cuda" else _time_cpu(run, repeats)


def summarize(
    times_ms: Sequence[float], *, warmup: int, device: str, dtype: torch.dtype
) -> RuntimeStats:
    """Reduce raw per-run timings to the reported statistics."""
    arr = np.asarray(times_ms, dtype=np.float64)
    p25, median, p75 = (float(v) for v in np.percentile(arr, [25, 50, 75]))
    return RuntimeStats(
        median_ms=median,
        mean_ms=float(arr.mean()),
        min_ms=float(arr.min()),
        max_ms=float(arr.max()),
        p25_ms=p25,
        p75_ms=p75,
        iqr_ms=p75 - p25,
        repeats=len(arr),
        warmup=warmup,
        device=device,
        threads=torch.get_num_threads(),
        dtype=str(dtype).removeprefix("torch."),
    )


def measure_runtime(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    device: DeviceLike = "cpu",
    warmup: int = 10,
    repeats: int = 50,
    dtype: torch.dtype = torch.float32,
) -> RuntimeStats:
    """Time ``repeats`` eval-mode ``inference_mode`` forwards after ``warmup`` untimed ones.

    Warm-up absorbs one-off costs (thread-pool start, kernel selection, cuDNN autotuning, lazy
    allocation) that would otherwise land in the first timed runs.
    """
    if repeats < 1:
        raise DistillsrError(f"repeats must be at least 1, got {repeats}")
    if warmup < 0:
        raise DistillsrError(f"warmup must be non-negative, got {warmup}")
    shape = validate_shape(input_shape)
    dev = resolve_device(device)
    with prepared(model, dev, dtype) as target, torch.inference_mode():
        x = make_input(shape, dev, dtype)

        def run() -> object:
            return forward(target, x)

        for _ in range(warmup):
            run()
        times = time_runs(run, repeats, dev)
    return summarize(times, warmup=warmup, device=str(dev), dtype=dtype)
