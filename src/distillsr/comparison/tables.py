"""The results as a Markdown table to paste, a CSV to load, and a JSON record with the environment.

All three are made from one flat record per model (:func:`row_record`), so they cannot disagree.
The CSV and JSON keep exact integers (params, MACs, FLOPs) and full-precision floats; Markdown
rounds for reading. Every row names its precision, and every score its protocol.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

from distillsr.comparison.runner import BenchResult, ModelResult

MIB = 2**20


def memory_mib(row: ModelResult, result: BenchResult) -> tuple[float | None, str]:
    """The peak memory shown for a row and how it was measured.

    Under ``--ntire`` on CUDA it is the kit's ``max_memory_allocated`` over the dataset's images;
    otherwise the extra memory of one forward at the input size (:mod:`distillsr.efficiency.memory`).
    """
    if result.settings.ntire and row.dataset_runtime.max_memory_mib is not None:
        return row.dataset_runtime.max_memory_mib, f"torch.cuda.max_memory_allocated over {row.dataset_runtime.dataset}"
    memory = row.costs.memory
    if memory is None:
        return None, ""
    return memory.peak_bytes / MIB, f"{memory.method} at {input_text(result)}"


def input_text(result: BenchResult) -> str:
    return "x".join(str(s) for s in result.settings.input_shape[1:])


def row_record(row: ModelResult, result: BenchResult) -> dict[str, Any]:
    """One model's numbers as a flat dict (the CSV's columns, in order)."""
    costs, runtime, per_image = row.costs, row.costs.runtime, row.dataset_runtime
    memory, memory_how = memory_mib(row, result)
    record: dict[str, Any] = {
        "model": row.label,
        "architecture": row.model,
        "weights": row.weights or "",
        "scale": row.scale,
        "precision": row.precision,
        "device": row.device,
        "threads": result.environment["threads"],
        "input": input_text(result),
        "params": costs.params.total,
        "macs": costs.ops.macs,
        "flops_ntire_kit": costs.ntire_flops,
        "activations": costs.activations.activations,
        "conv_layers": costs.activations.conv_layers,
        "runtime_median_ms": runtime.median_ms if runtime else None,
        "runtime_min_ms": runtime.min_ms if runtime else None,
        "runtime_max_ms": runtime.max_ms if runtime else None,
        "runtime_iqr_ms": runtime.iqr_ms if runtime else None,
        "runtime_repeats": runtime.repeats if runtime else None,
        "runtime_warmup": runtime.warmup if runtime else None,
        "runtime_per_image_dataset": per_image.dataset,
        "runtime_per_image_mean_ms": per_image.mean_ms,
        "runtime_per_image_method": per_image.method,
        "peak_memory_mib": memory,
        "peak_memory_method": memory_how,
        "protocol": result.protocol,
    }
    for scores in row.scores:
        mean = scores.mean
        record[f"{scores.dataset}_psnr"] = mean.psnr
        record[f"{scores.dataset}_ssim"] = mean.ssim
    return record


def to_csv(result: BenchResult) -> str:
    records = [row_record(row, result) for row in result.rows]
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=list(records[0]) if records else ["model"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return stream.getvalue()


def to_json(result: BenchResult) -> str:
    rows = []
    for row in result.rows:
        rows.append({
            **row_record(row, result),
            "spec": row.spec,
            "costs": row.costs.to_dict(),
            "runtime_per_image": dataclasses.asdict(row.dataset_runtime),
            "scores": [scores.to_dict() for scores in row.scores],
        })
    report = {
        "environment": result.environment,
        "settings": result.settings.to_dict(),
        "protocol": result.protocol,
        "protocol_description": result.protocol_description,
        "rows": rows,
    }
    return json.dumps(report, indent=2) + "\n"


def _cell(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_columns(result: BenchResult) -> list[str]:
    size = input_text(result)
    first = result.datasets[0] if result.datasets else "first set"
    params = "Params [M]" if result.settings.ntire else "Params [K]"
    return [
        "Model", "Precision", params, f"MACs [G] @{size}", f"FLOPs [G] (NTIRE kit) @{size}", f"Activations [M] @{size}",
        "#Conv", f"Runtime [ms] @{size}, median (min–max)", f"Runtime [ms] per {first} image (mean)", "Peak memory [MiB]",
        *(f"{name} PSNR [dB] / SSIM" for name in result.datasets),
    ]


def markdown_row(row: ModelResult, result: BenchResult) -> list[str]:
    record = row_record(row, result)
    params = record["params"] / 1e6 if result.settings.ntire else record["params"] / 1e3
    timing = "–"
    if record["runtime_median_ms"] is not None:
        timing = f"{record['runtime_median_ms']:.1f} ({record['runtime_min_ms']:.1f}–{record['runtime_max_ms']:.1f})"
    return [
        row.label, row.precision, f"{params:.4f}" if result.settings.ntire else f"{params:.1f}",
        f"{record['macs'] / 1e9:.2f}", _cell(None if record["flops_ntire_kit"] is None else record["flops_ntire_kit"] / 1e9, 2),
        f"{record['activations'] / 1e6:.2f}", str(record["conv_layers"]), timing,
        f"{record['runtime_per_image_mean_ms']:.1f}", _cell(record["peak_memory_mib"], 1),
        *(f"{scores.mean.psnr:.2f} / {scores.mean.ssim:.4f}" for scores in row.scores),
    ]


def markdown_notes(result: BenchResult) -> list[str]:
    env, settings = result.environment, result.settings
    device = env["gpu"] or env["cpu"]
    lines = [
        (
            f"x{settings.scale}, {result.protocol} protocol ({result.protocol_description}); precision {env['precision']}; "
            f"{env['device']} ({device}), {env['threads']} thread(s); torch {env['torch']}, distillsr {env['distillsr']}; {env['date']}."
        ),
        (
            f"MACs: conv multiply-accumulates (fvcore-style); FLOPs (NTIRE kit): conv MACs + activated elements; counts at "
            f"LR {input_text(result)}{' (the NTIRE kit convention)' if settings.ntire else ''}."
        ),
    ]
    if result.rows:
        per_image, memory = result.rows[0].dataset_runtime, memory_mib(result.rows[0], result)[1]
        lines.append(
            f"Runtime: median of {settings.repeats} runs after {settings.warmup} warm-up; per image: one forward per "
            f"{per_image.dataset} LR image, mean ({per_image.method}). Peak memory: {memory}."
        )
    return lines


def to_markdown(result: BenchResult) -> str:
    header = markdown_columns(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(markdown_row(row, result)) + " |" for row in result.rows]
    return "\n".join(lines) + "\n\n" + "\n".join(markdown_notes(result)) + "\n"


def write_tables(result: BenchResult, out: Path) -> list[Path]:
    """``results.md``, ``results.csv`` and ``results.json`` in ``out``, each written atomically."""
    from distillsr.atomic import atomic_write_text

    written = []
    for name, text in (("results.md", to_markdown(result)), ("results.csv", to_csv(result)), ("results.json", to_json(result))):
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written
