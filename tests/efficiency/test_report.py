"""The efficiency report: every figure measured, and printed in the NTIRE table's terms."""

from __future__ import annotations

import json

import pytest
import torch
from support.models import TINY_ACTIVATIONS, TINY_MACS, TINY_PARAMS, TINY_SHAPE, tiny_sr

from distillsr.efficiency.report import EfficiencyReport, format_report, profile_model
from distillsr.errors import DistillsrError


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
        "MACs (conv, fvcore-style)",
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
def test_cuda_without_cuda_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        profile_model(tiny_sr(), TINY_SHAPE, device="cuda")
