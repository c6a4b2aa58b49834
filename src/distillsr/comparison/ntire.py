"""The NTIRE efficient-SR challenge kit's columns, units and input size.

The kit's table prints Params [M], FLOPs [G], Activations [M], #Conv, Runtime [ms] and Max Mem [M]
(M = 1024**2 bytes for memory, 10**6 otherwise), with FLOPs, activations and #conv counted at one
3x256x256 LR input, and runtime averaged over the validation images. Its "FLOPs" are conv MACs
plus activated elements (:mod:`distillsr.efficiency.ntire_flops`), so fvcore-style MACs are shown
beside them: papers quote either under the same name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from distillsr.errors import DistillsrError

#: The kit's LR input for FLOPs, activations and #conv (C, H, W).
KIT_INPUT = (3, 256, 256)
KIT_INPUT_TEXT = "3x256x256"


def input_shape_for(text: str | None, ntire: bool, default: tuple[int, ...]) -> tuple[int, ...]:
    """The ``(1, C, H, W)`` input a command measures at: ``--input``, else ``default``, else the kit's.

    Under ``--ntire`` only the kit's 3x256x256 is allowed (its figures are defined there), so a
    different ``--input`` is a one-line error rather than a silently renamed column.
    """
    from distillsr.efficiency.input_size import parse_input_shape

    if text is None:
        return (1, *KIT_INPUT) if ntire else default
    shape = parse_input_shape(text)
    if ntire and shape[1:] != KIT_INPUT:
        raise DistillsrError(f"--ntire counts at the kit's input {KIT_INPUT_TEXT}; drop --input {text} or --ntire")
    return shape


@dataclass(frozen=True)
class KitFigures:
    """One model's figures in the kit's units; ``runtime_how`` and ``memory_how`` say how each was taken."""

    params: int
    flops: int
    macs: int
    params_m: float
    flops_g: float
    macs_g: float
    activations_m: float
    conv: int
    runtime_ms: float | None
    runtime_how: str
    memory_mib: float | None
    memory_how: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the kit's order and formats."""
        rows = [
            ("Params [M]", f"{self.params_m:.4f}"),
            ("FLOPs [G] (NTIRE kit)", f"{self.flops_g:.4f} ({self.flops:,})"),
            ("MACs [G] (conv, fvcore-style)", f"{self.macs_g:.4f} ({self.macs:,})"),
            ("Activations [M]", f"{self.activations_m:.4f}"),
            ("#Conv", f"{self.conv}"),
        ]
        if self.runtime_ms is not None:
            rows.append(("Runtime [ms]", f"{self.runtime_ms:.2f} ({self.runtime_how})"))
        if self.memory_mib is not None:
            rows.append(("Max Mem [M]", f"{self.memory_mib:.2f} ({self.memory_how})"))
        return rows


def kit_figures(
    report: Any,
    *,
    runtime_ms: float | None = None,
    runtime_how: str = "",
    memory_mib: float | None = None,
    memory_how: str = "",
) -> KitFigures:
    """The kit's figures from an :class:`~distillsr.efficiency.report.EfficiencyReport` measured at 3x256x256."""
    return KitFigures(
        params=report.params.total,
        flops=report.ntire_flops or 0,
        macs=report.ops.macs,
        params_m=report.params.total / 1e6,
        flops_g=(report.ntire_flops or 0) / 1e9,
        macs_g=report.ops.macs / 1e9,
        activations_m=report.activations.activations / 1e6,
        conv=report.activations.conv_layers,
        runtime_ms=runtime_ms,
        runtime_how=runtime_how,
        memory_mib=memory_mib,
        memory_how=memory_how,
    )


def format_kit_figures(figures: KitFigures) -> str:
    """An aligned two-column text table, as the kit prints it."""
    rows = figures.lines()
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:>{width}} : {value}" for label, value in rows)
