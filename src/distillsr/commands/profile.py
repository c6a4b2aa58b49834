"""``distillsr profile``: parameters, MACs/FLOPs, activations, runtime and memory of a model."""

from __future__ import annotations

import argparse
import json

from distillsr.commands.common import positive_int


def run(args: argparse.Namespace) -> int:
    from distillsr import api
    from distillsr.comparison.ntire import KIT_INPUT, input_shape_for
    from distillsr.checkpoints.model_loading import open_spec
    from distillsr.checkpoints.model_spec import model_spec
    from distillsr.devices import resolve_device
    from distillsr.efficiency import format_report

    input_shape = input_shape_for(args.input, args.ntire, (1, *KIT_INPUT))
    if args.json:
        from distillsr.writable import check_output_file

        check_output_file(args.json, "--json report")
    # nothing named: the built-in model; costs do not depend on the weights, so a zoo name alone is
    # measured with fresh ones (no download), at x4 unless -s says otherwise
    spec = model_spec(args.model, weights=args.weights, scale=args.scale, width=args.width, default_scale=api.PROFILE_SCALE)
    model = open_spec(spec, zoo_weights="fresh").to(resolve_device(args.device))
    report = api.profile(
        model, input_size=input_shape[1:], device=args.device, repeats=args.repeats, warmup=args.warmup, width=args.width
    )
    width = args.width if args.width is not None else api.width_of(model)
    at = "" if width is None else f" at width {width:g}" + (" (params, MACs and FLOPs of that width)" if width != 1.0 else "")
    print(f"model {model.name} x{model.scale}{at}, LR input {'x'.join(map(str, input_shape[1:]))}")
    extra = {}
    if args.ntire:
        from distillsr.comparison.ntire import format_kit_figures, kit_figures

        figures = kit_figures(
            report,
            runtime_ms=report.runtime.mean_ms, runtime_how=f"mean of {report.runtime.repeats} runs, {report.runtime.threads} thread(s)",
            memory_mib=report.memory.peak_bytes / 2**20, memory_how=report.memory.method,
        )
        print(format_kit_figures(figures))
        extra = {"ntire": figures.to_dict()}
    else:
        print(format_report(report))
    if args.json:
        from distillsr.atomic import atomic_write_text

        atomic_write_text(
            args.json, json.dumps({"model": model.name, "scale": model.scale, "width": width, **report.to_dict(), **extra}, indent=2) + "\n"
        )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    pr = commands.add_parser("profile", help="params, MACs/FLOPs, activations, runtime and memory of a model")
    pr.add_argument("--model", "-m", help="builtin (the default) or a zoo name; optional with --weights")
    pr.add_argument("--weights", "-w", help="checkpoint to profile (its architecture is what counts)")
    pr.add_argument("--scale", "-s", type=positive_int, help="upscaling factor (default 4, or the checkpoint's)")
    pr.add_argument("--width", type=float, metavar="W",
                    help="measure a channel-splitting (CSD) model at one of its widths, e.g. 0.5: the parameters "
                    "and MACs that width actually uses")
    pr.add_argument("--input", help="LR input size CxHxW (default 3x256x256, the NTIRE convention)")
    pr.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--repeats", type=positive_int, default=10, help="timed runs (median reported)")
    pr.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    pr.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    pr.add_argument("--ntire", action="store_true",
                    help="the NTIRE efficient-SR kit's table at 3x256x256: Params [M], FLOPs [G], Activations [M], "
                    "#Conv, Runtime [ms] (mean), Max Mem [M], with fvcore-style MACs beside the kit's FLOPs")
    pr.set_defaults(handler=run)
