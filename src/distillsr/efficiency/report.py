"""One-call efficiency profile of a model and its human- and JSON-readable forms."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from distillsr.efficiency._setup import (
    DEFAULT_INPUT_SHAPE,
    DeviceLike,
    resolve_device,
    shape_str,
    validate_shape,
)
from distillsr.efficiency.activations import ActivationCount, count_activations
from distillsr.efficiency.memory import MemoryStats, measure_peak_memory
from distillsr.efficiency.ntire_flops import ntire_flops
from distillsr.efficiency.ops import OpCount, count_ops
from distillsr.efficiency.params import ParamCount, count_parameters
from distillsr.efficiency.runtime import RuntimeStats, measure_runtime


@dataclass(frozen=True)
class EfficiencyReport:
    """Everything an efficient-SR comparison table needs, measured at one ``input_shape``.

    ``runtime`` and ``memory`` are ``None`` when they were skipped: they are slow and
    machine-dependent, whereas the counts are exact and portable.
    """

    input_shape: tuple[int, ...]
    device: str
    dtype: str
    params: ParamCount
    ops: OpCount
    activations: ActivationCount
    runtime: RuntimeStats | None = None
    memory: MemoryStats | None = None
    ntire_flops: int | None = None  # the challenge kit's figure: conv MACs + activated elements

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (tuples become lists when dumped)."""
        return dataclasses.asdict(self)


def profile_model(
    model: nn.Module,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    *,
    device: DeviceLike = "cpu",
    dtype: torch.dtype = torch.float32,
    runtime: bool = True,
    memory: bool = True,
    repeats: int = 50,
    warmup: int = 10,
) -> EfficiencyReport:
    """Count parameters, MACs/FLOPs and activations, and optionally time and measure memory."""
    shape = validate_shape(input_shape)
    dev = resolve_device(device)
    return EfficiencyReport(
        input_shape=shape,
        device=str(dev),
        dtype=str(dtype).removeprefix("torch."),
        params=count_parameters(model),
        ops=count_ops(model, shape, dtype=dtype, device=dev),
        activations=count_activations(model, shape, dtype=dtype, device=dev),
        runtime=(
            measure_runtime(model, shape, device=dev, warmup=warmup, repeats=repeats, dtype=dtype)
            if runtime
            else None
        ),
        memory=measure_peak_memory(model, shape, device=dev, dtype=dtype) if memory else None,
        ntire_flops=ntire_flops(model, shape, device=dev),
    )


def _scaled(n: int, units: Sequence[tuple[float, str]]) -> str:
    for scale, suffix in units:
        if abs(n) >= scale:
            return f"{n / scale:.3f} {suffix}"
    return f"{n}"


def format_report(report: EfficiencyReport) -> str:
    """Aligned text table with units, for terminals and logs.

    MACs are labelled with NTIRE's name for them so nobody compares our FLOPs (twice as large)
    with a challenge table. K/M/G are powers of 1000; memory is in MiB (1024**2 bytes).
    """
    p, o, a = report.params, report.ops, report.activations
    params_short = _scaled(p.total, [(1e6, "M"), (1e3, "K")])
    rows: list[tuple[str, str]] = [
        ("Input", f"{shape_str(report.input_shape)} ({report.dtype}, {report.device})"),
        ("Params", f"{p.total:,} ({params_short}), trainable {p.trainable:,}"),
        ("MACs (conv, fvcore-style)", f"{o.macs / 1e9:.3f} G ({o.macs:,})"),
        ("FLOPs (2 x MACs)", f"{o.flops / 1e9:.3f} G ({o.flops:,})"),
        *(
            [("FLOPs (NTIRE kit)", f"{report.ntire_flops / 1e9:.4f} G ({report.ntire_flops:,}: conv MACs + activated elements)")]
            if report.ntire_flops is not None
            else []
        ),
        ("Activations", f"{a.activations / 1e6:.3f} M ({a.activations:,})"),
        ("Conv layers", f"{a.conv_layers}"),
    ]
    if report.runtime is not None:
        r = report.runtime
        timing = f"{r.median_ms:.3f} ms ± {r.iqr_ms:.3f} ms IQR"
        rows.append(("Runtime (median)", f"{timing} (N={r.repeats}, {r.threads} threads)"))
    if report.memory is not None:
        m = report.memory
        rows.append(("Peak memory", f"{m.peak_bytes / 2**20:.2f} MiB ({m.method})"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
