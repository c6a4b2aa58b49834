"""Runtime statistics: consistent order statistics, and clear errors for bad settings."""

from __future__ import annotations

import pytest
import torch
from support.models import TINY_SHAPE, tiny_sr

from distillsr.efficiency.runtime import RuntimeStats, measure_runtime
from distillsr.errors import DistillsrError


def test_runtime_stats_are_consistent() -> None:
    stats = measure_runtime(tiny_sr(), TINY_SHAPE, warmup=1, repeats=7)
    assert isinstance(stats, RuntimeStats)
    assert stats.repeats == 7 and stats.warmup == 1
    assert 0 < stats.min_ms <= stats.p25_ms <= stats.median_ms <= stats.p75_ms <= stats.max_ms
    assert stats.min_ms <= stats.mean_ms <= stats.max_ms
    assert stats.iqr_ms == pytest.approx(stats.p75_ms - stats.p25_ms)
    assert stats.device == "cpu" and stats.threads == torch.get_num_threads()


def test_runtime_rejects_bad_repeats() -> None:
    with pytest.raises(DistillsrError):
        measure_runtime(tiny_sr(), TINY_SHAPE, repeats=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        measure_runtime(tiny_sr(), TINY_SHAPE, device="cuda")
