"""``distillsr bench``: several models on the same datasets and settings, as one comparison table.

Writes ``results.md`` (a table to paste), ``results.csv``, ``results.json`` (with the environment)
and, with matplotlib, ``psnr_vs_macs.png``, ``psnr_vs_latency.png`` and ``crops_<image>.png``.
"""

from __future__ import annotations

import argparse

from distillsr.commands.common import dataset_folders, non_negative_int, positive_int
from distillsr.errors import DistillsrError
from distillsr.inference import precision_names

DEFAULT_OUT = "bench-results"


def _names(values: list[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for value in values or [] for part in value.split(",") if part.strip())


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from distillsr.comparison.ntire import input_shape_for
    from distillsr.comparison.runner import DEFAULT_INPUT, BenchSettings, run_bench
    from distillsr.comparison.tables import to_markdown, write_tables
    from distillsr.console import get_logger
    from distillsr.writable import check_output_folder

    log = get_logger(__name__)
    models = _names(args.models)
    if not models:
        raise DistillsrError("--models needs at least one model (builtin, a zoo name, a weights file or bicubic)")
    out = check_output_folder(args.out, "--out folder")  # before the work, which may take an hour
    settings = BenchSettings(
        models=models, data=tuple(dataset_folders(args.data)), scale=args.scale, protocol=args.protocol,
        device=args.device, precision=args.precision, input_shape=input_shape_for(args.input, args.ntire, DEFAULT_INPUT),
        repeats=args.repeats, warmup=args.warmup, crops=_names(args.crops), ntire=args.ntire,
    )
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    result = run_bench(settings)
    written = write_tables(result, Path(out))
    from distillsr.comparison.plots import PLOT_HINT, matplotlib_available, write_plots

    if matplotlib_available():
        from distillsr.comparison.crops import write_crops

        written += write_plots(result, Path(out)) + write_crops(result, Path(out))
    else:
        log.warning(PLOT_HINT)
    print(to_markdown(result))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    be = commands.add_parser("bench", help="compare models: PSNR/SSIM, params, MACs/FLOPs, runtime, memory; tables and plots")
    be.add_argument("--models", "-m", required=True, action="append",
                    help="comma separated: builtin, zoo names (their official weights, downloaded once), weights files, bicubic")
    be.add_argument("--data", "-d", required=True, action="append",
                    help="benchmark folder(s), comma separated or repeated, as for eval (an HR folder, or a set folder "
                    "with HR/ and LR_bicubic/X<s>/); runtime per image is measured on the first")
    be.add_argument("--scale", "-s", type=positive_int, required=True, help="upscaling factor")
    be.add_argument("--protocol", default="classic", help="classic (Y, border=scale) or ntire (RGB, border 4)")
    be.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    be.add_argument("--precision", default="fp32", choices=precision_names.COMPUTED,
                    help="fp32 (as eval runs), or upscale's fast path: bf16 (CPU or CUDA), fp16 (CUDA)")
    be.add_argument("--out", "-o", default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    be.add_argument("--input", help="LR size CxHxW of the counts and the fixed-size runtime (default 3x180x320: "
                    "720p output at x4; 3x256x256 with --ntire)")
    be.add_argument("--repeats", type=positive_int, default=10, help="timed runs at --input (median and min-max reported)")
    be.add_argument("--warmup", type=non_negative_int, default=2, help="untimed runs first")
    be.add_argument("--threads", type=positive_int, help="CPU threads (torch.set_num_threads); recorded either way")
    be.add_argument("--crops", action="append", help="image names (e.g. butterfly): side-by-side crops of HR, bicubic and each model")
    be.add_argument("--ntire", action="store_true",
                    help="the NTIRE efficient-SR kit's way: counts at 3x256x256, its columns and units")
    be.set_defaults(handler=run)
