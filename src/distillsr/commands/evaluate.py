"""``distillsr eval``: PSNR/SSIM of a model on benchmark folders, under a named protocol."""

from __future__ import annotations

import argparse
import json

from distillsr.commands.common import dataset_folders, positive_int
from distillsr.errors import DistillsrError
from distillsr.inference import precision_names


def _format_eval_table(results, protocol, verbose: bool, width: float | None = None) -> str:
    """The scores per set; a fixed width of a channel-splitting model gets a column (it changes every number)."""
    tag = f"{protocol.name} {results[0].precision}" if results else protocol.name
    column = (lambda text: f" {text:>6}") if width is not None else (lambda text: "")
    header = f"{'dataset':<16} {'images':>6}{column('width')} {'PSNR ' + tag + ' (dB)':>20} {'SSIM ' + tag:>14}"
    lines = [header, "-" * len(header)]
    shown = "" if width is None else f"{width:g}"
    for result in results:
        mean = result.mean
        lines.append(f"{result.dataset:<16} {len(result.images):>6}{column(shown)} {mean.psnr:>20.4f} {mean.ssim:>14.4f}")
        if verbose:
            for image in result.images:
                lines.append(f"  {image.name:<14} {'':>6}{column('')} {image.score.psnr:>20.4f} {image.score.ssim:>14.4f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from distillsr import api
    from distillsr.atomic import atomic_write_text
    from distillsr.checkpoints.model_loading import open_model
    from distillsr.devices import resolve_device
    from distillsr.imaging.degrade import get_degradation
    from distillsr.metrics.protocols import get_protocol
    from distillsr.writable import check_output_file

    protocol = get_protocol(args.protocol)
    folders = dataset_folders(args.data)
    if args.json:  # checked before the evaluation, which may take an hour: its results must not be lost
        check_output_file(args.json, "--json report")
    # nothing or -m builtin: the shipped model; -m NAME alone: the official file (downloaded once); a zoo
    # name without widths given --width fails before its download
    model = open_model(args.model, weights=args.weights, scale=args.scale, width=args.width).to(resolve_device(args.device))
    width = _fixed_width(model, args)
    degradation = get_degradation(args.degradation, model.scale, seed=args.seed)
    at = "" if width is None else f" at width {width:g}"
    print(
        f"model {model.name} x{model.scale}{at} | degradation {degradation.name} | protocol {protocol.name}: "
        f"{protocol.description}" + (" | self-ensemble x8" if args.self_ensemble else "")
    )
    if args.dynamic and args.width is not None:
        raise DistillsrError("--dynamic chooses each image's width itself: drop --width")
    results = api.evaluate(
        model, folders, protocol=protocol.name, degradation=args.degradation, seed=args.seed,
        self_ensemble=args.self_ensemble, save_images=args.save_images, cache_dir=args.cache_dir,
        cache=not args.no_cache, device=args.device, progress=not args.quiet, precision=args.precision,
        width=args.width, width_policy="calibrated" if args.dynamic else None,
    )
    print(_format_eval_table(results, protocol, args.verbose, width))
    for result in results if args.dynamic else ():
        print(f"{result.dataset:<16} dynamic: {result.spent.describe('image')}")
    if args.json:
        report = {
            "model": model.name,
            "weights": model.metadata.get("weights"),
            "scale": model.scale,
            "width": width,  # null: not a channel-splitting model, or --dynamic (per image, in "results")
            "degradation": degradation.cache_key,
            "protocol": protocol.name,
            "protocol_description": protocol.description,
            "precision": results[0].precision if results else args.precision,
            "self_ensemble": args.self_ensemble,
            "results": [r.to_dict() for r in results],
        }
        if args.dynamic:
            report["dynamic"] = [{"dataset": result.dataset, **result.spent.to_dict()} for result in results]
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    return 0


def _fixed_width(model, args: argparse.Namespace) -> float | None:
    """The one width every image runs at: ``--width``, else a channel-splitting model's own (None
    for other models and for ``--dynamic``). A width the model lacks is refused here, before any
    image is read."""
    from distillsr import api

    if getattr(args, "dynamic", False):
        return None
    with api.at_width(model, args.width):
        return api.width_of(model)


def register(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser("eval", help="score a model on benchmark sets (PSNR/SSIM)")
    ev.add_argument("--model", "-m", help="builtin (the default), a zoo name (e.g. bicubic, e-rfdn: without -w, its official "
                    "weights, downloaded once) or a weights file")
    ev.add_argument("--weights", "-w", help="distillsr .safetensors checkpoint or an official .pth file")
    ev.add_argument(
        "--data", "-d", required=True, action="append",
        help="benchmark folder(s), comma separated or repeated: a folder of HR images, "
        "or a set folder with HR/ and LR_bicubic/X<s>/",
    )
    ev.add_argument("--scale", "-s", type=positive_int, help="upscaling factor (default: the checkpoint's)")
    ev.add_argument("--protocol", default="classic", help="classic (Y, border=scale) or ntire (RGB, border 4)")
    ev.add_argument("--degradation", default="BI", help="BI, BD or DN (how LR images are made from HR)")
    ev.add_argument("--seed", type=int, default=0, help="noise seed of the DN degradation")
    ev.add_argument("--width", type=float, metavar="W",
                    help="score a channel-splitting (CSD) model at one of the widths it was trained at, e.g. 0.5")
    ev.add_argument("--self-ensemble", action="store_true", help="average over 8 flips/rotations")
    ev.add_argument("--save-images", metavar="DIR", help="write SR images to DIR/<dataset>/<name>.png")
    ev.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ev.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ev.add_argument("--cache-dir", metavar="DIR", help="where made LR images are cached")
    ev.add_argument("--no-cache", action="store_true", help="do not cache made LR images")
    ev.add_argument("--precision", default="fp32", choices=precision_names.COMPUTED,
                    help="what the model computes in: fp32 (plain float32, as papers score; the default), bf16 "
                    "or fp16 (autocast, as reduced-precision upscaling runs; fp16 needs CUDA)")
    ev.add_argument("--dynamic", action="store_true",
                    help="run each image at the width chosen by the thresholds stored by distillsr calibrate "
                    "(slimmable checkpoints); reports the mean width and the MACs spent")
    ev.add_argument("--verbose", "-v", action="store_true", help="also print per-image scores")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    ev.set_defaults(handler=run)
