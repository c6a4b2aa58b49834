"""bench.runner: every number equals what ``evaluate`` and ``profile_model`` give for the same model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from comparison.tiny import SCALE

from distillsr import api
from distillsr.comparison.precision import FastPathNetwork, at_precision
from distillsr.comparison.runner import BenchSettings, run_bench, time_dataset
from distillsr.checkpoints.model_loading import open_model
from distillsr.efficiency.report import profile_model
from distillsr.errors import DistillsrError

EXACT_RSS = "linux-clear_refs-vmhwm"
RSS_METHODS = {EXACT_RSS, "vmrss-sampling-1ms", "getrusage-maxrss"}  # efficiency.memory's CPU methods


def test_rows_follow_the_models_and_name_their_precision(bench_result, tiny_models):
    assert [row.spec for row in bench_result.rows] == tiny_models
    assert [row.label for row in bench_result.rows] == ["dipnet", "e-rfdn", "bicubic"]
    assert {row.precision for row in bench_result.rows} == {"fp32"}
    assert bench_result.datasets == ["Alpha", "Beta"]  # Alpha/HR is named by its parent folder, as eval names Set5/HR


def test_scores_equal_what_evaluate_gives(bench_result, tiny_sets):
    for row in bench_result.rows:
        reference = api.evaluate(row.spec, tiny_sets, scale=SCALE, device="cpu", cache=False)
        for ours, theirs in zip(row.scores, reference):
            assert ours.dataset == theirs.dataset
            assert [(i.name, i.score) for i in ours.images] == [(i.name, i.score) for i in theirs.images]
            assert ours.mean.protocol == "classic"


def test_counts_equal_what_profile_model_gives(bench_result):
    for row in bench_result.rows:
        network = open_model(row.spec, scale=SCALE).network
        reference = profile_model(network, (1, 3, 24, 24), runtime=False, memory=False)
        assert row.costs.params == reference.params
        assert row.costs.params.total == sum(p.numel() for p in network.parameters())
        assert row.costs.ops.macs == reference.ops.macs
        assert row.costs.ntire_flops == reference.ntire_flops
        assert row.costs.activations == reference.activations
        assert row.costs.input_shape == (1, 3, 24, 24)


def test_runtime_and_memory_are_measured_at_the_input_size(bench_result):
    output_bytes = 4 * 3 * (24 * SCALE) ** 2  # the float32 SR image of the 1x3x24x24 input
    for row in bench_result.rows:
        runtime = row.costs.runtime
        assert runtime.repeats == 3 and runtime.warmup == 1
        assert runtime.min_ms <= runtime.median_ms <= runtime.max_ms
        memory = row.costs.memory
        assert memory is not None and memory.device == "cpu" and memory.method in RSS_METHODS
        # one forward holds at most every activation and the output at once; allow allocator, page and
        # thread-pool overhead on top, but not the process's own memory (hundreds of MiB with torch loaded)
        tensors = 4 * row.costs.activations.activations + output_bytes
        assert memory.peak_bytes <= 16 * tensors + 8 * 2**20, f"{row.label}: {memory.peak_bytes} bytes for {tensors}"
        if memory.method == EXACT_RSS:  # the measured forward faults in at least its output
            assert memory.peak_bytes >= output_bytes, f"{row.label}: {memory.peak_bytes} bytes, less than the output"


def test_runtime_per_image_is_the_mean_over_the_first_dataset(bench_result):
    for row in bench_result.rows:
        per_image = row.dataset_runtime
        assert per_image.dataset == "Alpha" and per_image.images == 2 and len(per_image.per_image_ms) == 2
        assert per_image.mean_ms == pytest.approx(np.mean(per_image.per_image_ms))
        assert per_image.method == "time.perf_counter wall clock" and per_image.max_memory_mib is None


def test_time_dataset_runs_one_forward_per_image_after_the_warmup():
    calls = []

    class Counting:
        in_channels = 3

        def __call__(self, x):
            calls.append(tuple(x.shape))
            return x

    images = [np.zeros((4, 5, 3), np.uint8), np.zeros((6, 7, 3), np.uint8)]
    result = time_dataset(Counting(), "Set", images, torch.device("cpu"), warmup=3)
    assert calls == [(1, 3, 4, 5)] * 3 + [(1, 3, 4, 5), (1, 3, 6, 7)]
    assert result.images == 2 and result.warmup == 3


def test_crops_hold_hr_bicubic_first_then_each_model_with_its_psnr(bench_result):
    (crop,) = bench_result.crops
    assert (crop.name, crop.dataset) == ("astro", "Alpha")
    assert [panel.label for panel in crop.panels] == ["bicubic", "dipnet", "e-rfdn"]
    for panel in crop.panels:
        row = next(r for r in bench_result.rows if r.label == panel.label)
        assert panel.psnr == row.scores[0].images[0].score.psnr  # astro is Alpha's first image
        assert panel.image.shape == crop.hr.shape == (40, 48, 3) and panel.image.dtype == np.uint8


def test_bf16_goes_through_the_upscale_fast_path(tiny_models):
    model = open_model(tiny_models[0], scale=SCALE)
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        exact = model(x)
        fast = at_precision(model, "bf16", torch.device("cpu"))
        assert isinstance(fast.network, FastPathNetwork)
        out = fast(x)
    assert out.dtype == torch.float32
    assert float((out - exact).abs().max()) < 0.05  # bf16 keeps ~3 significant digits
    conv_weight = next(p for p in fast.network.parameters() if p.ndim == 4)
    assert conv_weight.is_contiguous(memory_format=torch.channels_last)  # the fast path's layout on the CPU...
    assert all(p.is_contiguous() for p in model.network.parameters())  # ...in a copy: the model stays as eval runs it
    assert at_precision(model, "fp32", torch.device("cpu")) is model  # fp32: the model itself


def test_a_bf16_bench_scores_as_eval_does_and_keeps_bicubic_in_fp32(tiny_models, tiny_sets):
    settings = BenchSettings(models=(tiny_models[0], "bicubic"), data=tuple(tiny_sets[:1]), scale=SCALE, device="cpu",
                             precision="bf16", input_shape=(1, 3, 16, 16), repeats=1, warmup=0)
    dipnet, bicubic = run_bench(settings).rows
    assert (dipnet.precision, bicubic.precision) == ("bf16", "fp32")  # bicubic computes in float32 only: said, not hidden
    reference = api.evaluate(tiny_models[0], tiny_sets[:1], scale=SCALE, device="cpu", cache=False, precision="bf16")
    assert dipnet.scores[0].precision == "bf16"
    assert [i.score for i in dipnet.scores[0].images] == [i.score for i in reference[0].images]
    fp32 = api.evaluate(tiny_models[0], tiny_sets[:1], scale=SCALE, device="cpu", cache=False)
    assert [i.score for i in dipnet.scores[0].images] != [i.score for i in fp32[0].images]  # bf16 really ran


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"models": ("no-such-model",)}, "no-such-model"),
        ({"precision": "fp16"}, "fp16 needs a CUDA device"),
        ({"crops": ("nowhere",)}, "--crops: no image 'nowhere'"),
        ({"scale": 3}, "x2"),
        ({"models": ()}, "--models needs at least one model"),
    ],
)
def test_bad_settings_fail_before_any_measurement(tiny_models, tiny_sets, change, message):
    settings = {"models": tuple(tiny_models[:1]), "data": tuple(tiny_sets), "scale": SCALE, "device": "cpu", **change}
    with pytest.raises(DistillsrError) as error:
        run_bench(BenchSettings(**settings))
    assert message in str(error.value)


def test_the_same_model_twice_is_refused(tiny_models, tiny_sets):
    with pytest.raises(DistillsrError, match="the same model twice"):
        run_bench(BenchSettings(models=("bicubic", "bicubic"), data=tuple(tiny_sets), scale=SCALE, device="cpu"))
