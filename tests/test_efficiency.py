"""Tests for distillsr.efficiency.

Expected counts are written out as independent arithmetic from layer shapes, never taken from the
code under test, so a wrong counting convention (FLOPs vs MACs, groups, transposed convs) fails.
"""

from __future__ import annotations

import json
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from distillsr.efficiency import (
    ActivationCount,
    EfficiencyReport,
    MemoryStats,
    OpCount,
    ParamCount,
    RuntimeStats,
    _rss,
    count_activations,
    count_ops,
    count_parameters,
    format_report,
    measure_peak_memory,
    measure_runtime,
    profile_model,
)
from distillsr.errors import DistillsrError

MiB = 2**20
KNOWN_MEMORY_METHODS = {"linux-clear_refs-vmhwm", "vmrss-sampling-1ms", "getrusage-maxrss"}


def conv_params(cin: int, cout: int, k: int, *, groups: int = 1, bias: bool = True) -> int:
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def conv_macs(cin: int, cout: int, k: int, hout: int, wout: int, *, groups: int = 1) -> int:
    return cout * hout * wout * (cin // groups) * k * k


def tiny_sr() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 1),
        nn.ReLU(),
        nn.Conv2d(8, 3 * 4, 3, padding=1),
        nn.PixelShuffle(2),
    )


H, W = 16, 20
TINY_SHAPE = (1, 3, H, W)
TINY_PARAMS = conv_params(3, 8, 3) + conv_params(8, 8, 1) + conv_params(8, 12, 3)
TINY_MACS = conv_macs(3, 8, 3, H, W) + conv_macs(8, 8, 1, H, W) + conv_macs(8, 12, 3, H, W)
TINY_ACTIVATIONS = 8 * H * W + 8 * H * W + 12 * H * W


class FunctionalConv(nn.Module):
    """Owns a weight but convolves with F.conv2d, which module-hook counters would miss."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1)


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


# --- parameters ---------------------------------------------------------------------------------


def test_params_of_hand_built_model() -> None:
    assert TINY_PARAMS == 224 + 72 + 876
    assert count_parameters(tiny_sr()) == ParamCount(total=TINY_PARAMS, trainable=TINY_PARAMS)


def test_params_bias_false_vs_true() -> None:
    assert count_parameters(nn.Conv2d(3, 8, 3, bias=False)).total == 3 * 8 * 9
    assert count_parameters(nn.Conv2d(3, 8, 3, bias=True)).total == 3 * 8 * 9 + 8


def test_params_frozen_counts_in_total_only() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == ParamCount(total=(16 + 4) + (8 + 2), trainable=8 + 2)


def test_params_tied_weight_counted_once() -> None:
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    model[1].weight = model[0].weight
    assert count_parameters(model).total == 16


def test_params_lazy_module_is_a_user_error() -> None:
    with pytest.raises(DistillsrError):
        count_parameters(nn.LazyConv2d(8, 3))


# --- MACs / FLOPs and activations ---------------------------------------------------------------


def test_ops_and_activations_of_hand_built_model() -> None:
    assert TINY_MACS == 320 * (216 + 64 + 864)
    ops = count_ops(tiny_sr(), TINY_SHAPE)
    assert isinstance(ops, OpCount)
    assert ops.macs == TINY_MACS
    assert ops.flops == 2 * TINY_MACS
    assert ops.flops_by_op == {"convolution": 2 * TINY_MACS}
    assert ops.input_shape == TINY_SHAPE
    acts = count_activations(tiny_sr(), TINY_SHAPE)
    assert acts == ActivationCount(
        activations=TINY_ACTIVATIONS, conv_layers=3, input_shape=TINY_SHAPE
    )


def test_functional_conv_is_counted() -> None:
    model = FunctionalConv()
    assert count_parameters(model).total == 4 * 3 * 9
    assert count_ops(model, TINY_SHAPE).macs == conv_macs(3, 4, 3, H, W)
    acts = count_activations(model, TINY_SHAPE)
    assert (acts.activations, acts.conv_layers) == (4 * H * W, 1)


def test_strided_conv_uses_output_size() -> None:
    model = nn.Conv2d(3, 6, 3, stride=2, padding=1)
    hout, wout = (H + 2 - 3) // 2 + 1, (W + 2 - 3) // 2 + 1
    assert (hout, wout) == (8, 10)
    assert count_ops(model, TINY_SHAPE).macs == conv_macs(3, 6, 3, hout, wout)
    assert count_activations(model, TINY_SHAPE).activations == 6 * hout * wout


def test_grouped_conv_divides_by_groups() -> None:
    model = nn.Conv2d(8, 16, 3, padding=1, groups=4)
    assert count_parameters(model).total == conv_params(8, 16, 3, groups=4) == 16 * 2 * 9 + 16
    assert count_ops(model, (1, 8, H, W)).macs == 16 * H * W * 2 * 9


def test_transposed_conv() -> None:
    model = nn.ConvTranspose2d(4, 6, kernel_size=2, stride=2)
    hin, win = 8, 10
    assert count_parameters(model).total == 4 * 6 * 2 * 2 + 6
    # Every input pixel scatters cin * cout * k * k multiply-accumulates into the output.
    assert count_ops(model, (1, 4, hin, win)).macs == 4 * 6 * 2 * 2 * hin * win
    acts = count_activations(model, (1, 4, hin, win))
    assert (acts.activations, acts.conv_layers) == (6 * (2 * hin) * (2 * win), 1)


def test_reused_conv_counts_each_call() -> None:
    conv = nn.Conv2d(3, 3, 3, padding=1)

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = conv

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.conv(x))

    acts = count_activations(Twice(), TINY_SHAPE)
    assert (acts.activations, acts.conv_layers) == (2 * 3 * H * W, 2)
    assert count_ops(Twice(), TINY_SHAPE).macs == 2 * conv_macs(3, 3, 3, H, W)


def test_linear_and_matmul_macs() -> None:
    assert count_ops(nn.Linear(10, 7), (2, 10)).macs == 2 * 10 * 7
    assert count_ops(nn.Linear(10, 7), (1, 5, 10)).macs == 5 * 10 * 7
    acts = count_activations(nn.Linear(10, 7), (2, 10))
    assert (acts.activations, acts.conv_layers) == (0, 0)

    class Gram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.matmul(x, x.transpose(-1, -2))

    assert count_ops(Gram(), (1, 6, 9)).macs == 6 * 6 * 9


def test_counting_leaves_model_mode_and_dtype_unchanged() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.train()
    stats_before = model[1].running_mean.clone()
    count_ops(model, TINY_SHAPE, dtype=torch.float64)
    count_activations(model, TINY_SHAPE)
    assert all(m.training for m in model.modules())
    assert model[0].weight.dtype == torch.float32
    assert torch.equal(model[1].running_mean, stats_before)


# --- runtime and memory -------------------------------------------------------------------------


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


# --- report and errors --------------------------------------------------------------------------


def test_profile_and_format_report() -> None:
    report = profile_model(tiny_sr(), TINY_SHAPE, repeats=5, warmup=1)
    assert isinstance(report, EfficiencyReport)
    assert report.params.total == TINY_PARAMS
    assert report.ops.macs == TINY_MACS
    assert report.activations.conv_layers == 3
    assert report.runtime is not None and report.runtime.repeats == 5
    assert report.memory is not None
    text = format_report(report)
    for expected in (
        "1x3x16x20",
        f"{TINY_PARAMS:,}",
        "1.172 K",
        "MACs (NTIRE 'FLOPs')",
        f"{TINY_MACS:,}",
        f"{2 * TINY_MACS:,}",
        f"{TINY_ACTIVATIONS:,}",
        "N=5",
        "threads",
        "MiB",
    ):
        assert expected in text
    conv_line = next(line for line in text.splitlines() if line.startswith("Conv layers"))
    assert conv_line.split()[-1] == "3"
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ops"]["macs"] == TINY_MACS
    assert data["activations"]["activations"] == TINY_ACTIVATIONS


def test_profile_without_runtime_and_memory() -> None:
    report = profile_model(tiny_sr(), TINY_SHAPE, runtime=False, memory=False)
    assert report.runtime is None and report.memory is None
    text = format_report(report)
    assert "Runtime" not in text and "Peak memory" not in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize(
    "call",
    [
        lambda m: count_ops(m, TINY_SHAPE, device="cuda"),
        lambda m: count_activations(m, TINY_SHAPE, device="cuda"),
        lambda m: measure_runtime(m, TINY_SHAPE, device="cuda"),
        lambda m: measure_peak_memory(m, TINY_SHAPE, device="cuda"),
        lambda m: profile_model(m, TINY_SHAPE, device="cuda"),
    ],
)
def test_cuda_without_cuda_is_a_user_error(call) -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        call(tiny_sr())


@pytest.mark.parametrize("shape", [(), (1, 3, 0, 4), (1, 3, 2.5, 4), "abc"])
def test_bad_input_shape_is_a_user_error(shape) -> None:
    with pytest.raises(DistillsrError):
        count_ops(tiny_sr(), shape)


def test_forward_failure_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="1x4x8x8"):
        count_activations(tiny_sr(), (1, 4, 8, 8))
