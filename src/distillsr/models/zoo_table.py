"""The ``distillsr zoo`` listing: what each model is, what it costs, and what it scored where."""

from __future__ import annotations

import torch

from distillsr.models.zoo import ZOO, ZooEntry, get_entry

NTIRE_INPUT = (1, 3, 256, 256)


def macs_at_ntire_input(entry: ZooEntry, scale: int) -> int | None:
    """MACs of one 3x256x256 LR forward, counted from shapes on the meta device (nothing runs)."""
    from distillsr.efficiency import count_ops

    if entry.in_channels is None:
        return 0
    with torch.device("meta"):
        network = entry.build(scale)
    try:
        return count_ops(network, NTIRE_INPUT, device="meta").macs
    except Exception:  # a model whose forward needs real data cannot be counted on meta
        return None


def _widths_cell(entry: ZooEntry, scale: int) -> str:
    """Parameters actually used at each width of a slimmable (CSD) model."""
    if not entry.widths:
        return ""
    from distillsr.nn.slimmable import active_parameter_count

    with torch.device("meta"):
        network = entry.build(scale)
    counts = ", ".join(f"{w:g}: {active_parameter_count(network, w) / 1e6:.2f}M" for w in entry.widths)
    return f"; params used per width {counts}"


def _scores_cell(entry: ZooEntry, scale: int) -> str:
    wanted = [s for s in entry.published if s.scale == scale and s.dataset in ("Set5", "Set14")]
    if not wanted:
        return "-"
    return "; ".join(
        f"{s.dataset} {s.psnr:.2f}" + (f"/{s.ssim:.4f}" if s.ssim is not None else "")
        + f" ({s.protocol}, {s.kind}{', ' + s.note.split(',')[0] if s.note else ''})"
        for s in wanted[:4]
    )


def format_zoo_table(scale: int = 4, macs: bool = True, names: list[str] | None = None) -> str:
    """One row per model; parameters and MACs at ``scale``; published Set5/Set14 with protocol."""
    from distillsr.efficiency import count_parameters

    entries = [get_entry(n) for n in names] if names else list(ZOO.values())
    header = f"{'model':<15} {'scales':<8} {'form':<7} {'range':>5} {'params':>11} {'GMACs@256²':>11}  published / reference (x{scale})"
    lines = [header, "-" * len(header)]
    for entry in entries:
        scales = ",".join(map(str, entry.scales)) if entry.scales else "any"
        if not entry.supports(scale):
            lines.append(f"{entry.name:<15} {scales:<8} (no x{scale})")
            continue
        with torch.device("meta"):
            params = count_parameters(entry.build(scale)).total
        gmacs = "-"
        if macs:
            counted = macs_at_ntire_input(entry, scale)
            gmacs = f"{counted / 1e9:.2f}" if counted is not None else "n/a"
        widths = _widths_cell(entry, scale)
        lines.append(
            f"{entry.name:<15} {scales:<8} {entry.form:<7} {entry.input_range:>5g} {params:>11,} {gmacs:>11}  "
            f"{_scores_cell(entry, scale)}"
        )
        lines.append(f"{'':<15} {entry.description}{widths}; source: {entry.source}")
    lines.append("MACs = multiply-accumulates of one 3x256x256 LR forward (the NTIRE challenges' 'FLOPs').")
    return "\n".join(lines)
