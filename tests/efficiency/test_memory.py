"""Peak memory: a large scratch tensor is seen, a small model is small, the sampling fallback works."""

from __future__ import annotations

import time

import pytest
import torch
from support.models import TINY_SHAPE, tiny_sr
from torch import nn

from distillsr.efficiency import _rss
from distillsr.efficiency.memory import MemoryStats, measure_peak_memory
from distillsr.errors import DistillsrError

MiB = 2**20
KNOWN_MEMORY_METHODS = {"linux-clear_refs-vmhwm", "vmrss-sampling-1ms", "getrusage-maxrss"}


class BigScratch(nn.Module):
    """Allocates and touches a 64 MiB tensor that stays alive until forward returns."""

    def __init__(self, hold_s: float = 0.0) -> None:
        super().__init__()
        self.hold_s = hold_s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scratch = torch.ones(64 * MiB // 4)  # float32: 64 MiB, written so the pages are resident
        if self.hold_s:
            time.sleep(self.hold_s)
        return x + scratch[-1]


def test_peak_memory_sees_large_scratch_tensor() -> None:
    stats = measure_peak_memory(BigScratch(), TINY_SHAPE)
    assert isinstance(stats, MemoryStats)
    assert stats.method in KNOWN_MEMORY_METHODS
    assert stats.device == "cpu"
    assert stats.peak_bytes >= 50 * MiB


def test_peak_memory_of_small_model_is_small() -> None:
    # Control for the test above: the measurement is a difference, not the whole process RSS.
    assert measure_peak_memory(tiny_sr(), TINY_SHAPE).peak_bytes < 32 * MiB


def test_peak_memory_sampling_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _rss._status_readable():
        pytest.skip("no /proc/self/status")
    monkeypatch.setattr(_rss, "_reset_hwm", lambda: False)
    stats = measure_peak_memory(BigScratch(hold_s=0.05), TINY_SHAPE)
    assert stats.method == "vmrss-sampling-1ms"
    assert stats.peak_bytes >= 50 * MiB


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        measure_peak_memory(tiny_sr(), TINY_SHAPE, device="cuda")
