"""The ``distillsr zoo`` listing: what each model is, what it costs, what it scored where, and
whether its official weights are already on this machine.

The built-in model comes first, as the row ``builtin``: it is what ``upscale`` and ``eval`` use
when no model is named, so a user comparing models sees it next to the zoo. Its facts come from
its model card (read from the shipped file's header), its MACs are counted like every other row's.

Listing never downloads anything: the weights column only looks at the cache
(:func:`distillsr.checkpoints.official_download.cached_path`, a record and a ``stat``). The
``checkpoints`` helpers are imported inside the functions that need them: the zoo itself
(:mod:`distillsr.models.zoo`) stays free of them, and the listing is the one place that reports on both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from distillsr.errors import DistillsrError
from distillsr.models.zoo import ZOO, ZooEntry, get_entry

if TYPE_CHECKING:
    from distillsr.checkpoints.format import CheckpointInfo

NTIRE_INPUT = (1, 3, 256, 256)
WEIGHTS_WIDTH = 20  # "download (1023.9 KB)"
NAME_WIDTH = 20  # the longest zoo name ("dipnet-slim-v2-train")


def macs_at_ntire_input(entry: ZooEntry, scale: int, **overrides) -> int | None:
    """MACs of one 3x256x256 LR forward, counted from shapes on the meta device (nothing runs).

    ``overrides`` are hyperparameters the network is built with (the built-in model's own widths).
    """
    from distillsr.efficiency import count_ops

    if entry.in_channels is None:
        return 0
    with torch.device("meta"):
        network = entry.build(scale, **overrides)
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


def weights_cell(entry: ZooEntry, scale: int) -> str:
    """Where the official file for ``scale`` stands on this machine: ``cached`` (verified in the
    cache), ``cached (unchecked)`` (a file of that name put there by other means, hashed on first
    use), ``download (SIZE)`` (published, fetched on first use), or ``-`` (none for that scale).

    Looks only at the cache (a record and a ``stat``): listing the zoo never hashes or downloads.
    """
    from distillsr.checkpoints.official_download import (
        cached_path,
        select_weights,
        weights_folder,
    )
    from distillsr.data.catalogue import format_size

    weights = select_weights(entry, scale, exact=True)
    if weights is None:
        return "-"
    if cached_path(entry.name, weights) is not None:
        return "cached"
    if (weights_folder(entry.name) / weights.filename).is_file():
        return "cached (unchecked)"
    return f"download ({format_size(weights.size)})"


def _builtin_info(scale: int) -> CheckpointInfo:
    """The checkpoint description of the shipped file (architecture, its hyperparameters, form, range)."""
    from distillsr.checkpoints.builtin import builtin_file, read_header
    from distillsr.checkpoints.format import METADATA_KEY, CheckpointInfo

    path = builtin_file(scale)
    text = (read_header(path).get("__metadata__") or {}).get(METADATA_KEY)
    if not isinstance(text, str):
        raise DistillsrError(f"{path}: not a distillsr checkpoint")
    return CheckpointInfo.from_json(text, str(path))


def _card_scores_cell(card: dict) -> str:
    """The card's Set5/Set14 scores in the published column's words (measured by distillsr: ``card``)."""
    shown = []
    for score in card.get("scores") or ():
        if not isinstance(score, dict) or score.get("dataset") not in ("Set5", "Set14") or score.get("psnr") is None:
            continue
        ssim = f"/{score['ssim']:.4f}" if score.get("ssim") is not None else ""
        shown.append(f"{score['dataset']} {score['psnr']:.2f}{ssim} ({score.get('protocol', '?')}, model card)")
    return "; ".join(shown) or "-"


def builtin_rows(scale: int, macs: bool) -> list[str]:
    """The ``builtin`` row and its description line; a short note when ``scale`` is not shipped
    (x2/x3 may be missing from an installation) or the file cannot be read."""
    from distillsr.checkpoints.builtin import BUILTIN_NAME, builtin_card, builtin_scales

    scales = builtin_scales()
    listed = ",".join(map(str, scales)) or "none"
    if not scales:
        return [f"{BUILTIN_NAME:<{NAME_WIDTH}} {listed:<8} (no built-in models in this installation: reinstall distillsr)"]
    if scale not in scales:
        return [f"{BUILTIN_NAME:<{NAME_WIDTH}} {listed:<8} (no x{scale})"]
    try:
        card = builtin_card(scale)
        info = _builtin_info(scale)
    except DistillsrError as error:  # a damaged installation: say so in the row, list the rest
        return [f"{BUILTIN_NAME:<{NAME_WIDTH}} {listed:<8} (unreadable: {error})"]
    params = card.get("params")
    params_cell = f"{params:,}" if isinstance(params, int) else "?"
    gmacs = "-"
    if macs:
        counted = macs_at_ntire_input(get_entry(info.model), scale, **info.kwargs) if info.model in ZOO else None
        gmacs = f"{counted / 1e9:.2f}" if counted is not None else "n/a"
    data = card.get("data")
    trained = f", trained on {data}" if data else ""
    row = (
        f"{BUILTIN_NAME:<{NAME_WIDTH}} {listed:<8} {info.form:<7} {info.input_range:>5g} {params_cell:>11} {gmacs:>11} "
        f"{'shipped':<{WEIGHTS_WIDTH}}  {_card_scores_cell(card)}"
    )
    description = (
        f"{'':<{NAME_WIDTH}} distillsr's own model (the default of upscale and eval): {info.model} architecture{trained}; "
        f"source: {card.get('recipe', 'distillsr')}{_bf16_cell(BUILTIN_NAME, scale)}"
    )
    return [row, description]


def _bf16_cell(name: str, scale: int) -> str:
    """The measured bf16 cost of the official or shipped weights at ``scale``, where measured."""
    from distillsr.models.reduced_precision import describe_cost

    cost = describe_cost(name, scale)
    return f"; in bf16 {cost}" if cost else ""


def format_zoo_table(scale: int = 4, macs: bool = True, names: list[str] | None = None) -> str:
    """One row per model, the built-in one first; parameters and MACs at ``scale``; whether the
    official weights are cached; published Set5/Set14 with protocol.

    ``names`` picks rows (``builtin`` or zoo names, in that order); by default every model is listed.
    """
    from distillsr.checkpoints.builtin import is_builtin
    from distillsr.checkpoints.model_spec import user_entry
    from distillsr.efficiency import count_parameters

    rows: list[ZooEntry | None] = [None, *ZOO.values()]  # None: the built-in model's row
    if names:
        rows = [None if is_builtin(name) else user_entry(name) for name in names]  # a typo fails before any row
    header = (
        f"{'model':<{NAME_WIDTH}} {'scales':<8} {'form':<7} {'range':>5} {'params':>11} {'GMACs@256²':>11} "
        f"{'weights':<{WEIGHTS_WIDTH}}  published / reference (x{scale})"
    )
    lines = [header, "-" * len(header)]
    for entry in rows:
        if entry is None:
            lines.extend(builtin_rows(scale, macs))
            continue
        scales = ",".join(map(str, entry.scales)) if entry.scales else "any"
        if not entry.supports(scale):
            lines.append(f"{entry.name:<{NAME_WIDTH}} {scales:<8} (no x{scale})")
            continue
        with torch.device("meta"):
            params = count_parameters(entry.build(scale)).total
        gmacs = "-"
        if macs:
            counted = macs_at_ntire_input(entry, scale)
            gmacs = f"{counted / 1e9:.2f}" if counted is not None else "n/a"
        widths = _widths_cell(entry, scale)
        lines.append(
            f"{entry.name:<{NAME_WIDTH}} {scales:<8} {entry.form:<7} {entry.input_range:>5g} {params:>11,} {gmacs:>11} "
            f"{weights_cell(entry, scale):<{WEIGHTS_WIDTH}}  {_scores_cell(entry, scale)}"
        )
        lines.append(f"{'':<{NAME_WIDTH}} {entry.description}{widths}; source: {entry.source}{_bf16_cell(entry.name, scale)}")
    lines.append("weights = the official file: cached on this machine, or downloaded on first use by -m NAME (no -w).")
    lines.append("MACs = multiply-accumulates of one 3x256x256 LR forward (the NTIRE challenges' 'FLOPs').")
    lines.append("bf16 = what upscale's default reduced precision costs (CPUs with native bf16): measured on Set5; "
                 "--fp32 runs the exact path.")
    return "\n".join(lines)
