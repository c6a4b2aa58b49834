"""The ``distillsr`` command.

Each subcommand is a small function from parsed arguments to an exit code. User errors
(:class:`~distillsr.errors.DistillsrError`) become one line on stderr and exit code 1, never a
traceback; heavy modules are imported inside the subcommand that needs them so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def parse_input_shape(text: str) -> tuple[int, int, int, int]:
    """``3x256x256`` (C x H x W) or ``256x256`` (H x W, 3 channels) -> ``(1, C, H, W)``."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 2:
        parts = [3, *parts]
    if len(parts) != 3 or min(parts) < 1:
        raise DistillsrError(f"input size must look like 3x256x256 or 256x256, got {text!r}")
    return (1, parts[0], parts[1], parts[2])


def _dataset_folders(values: list[str]) -> list[Path]:
    folders = [Path(part) for value in values for part in value.split(",") if part.strip()]
    if not folders:
        raise DistillsrError("--data needs at least one folder")
    return folders


def _format_eval_table(results, protocol, verbose: bool) -> str:
    tag = protocol.name
    header = f"{'dataset':<16} {'images':>6} {'PSNR ' + tag + ' (dB)':>20} {'SSIM ' + tag:>14}"
    lines = [header, "-" * len(header)]
    for result in results:
        mean = result.mean
        lines.append(f"{result.dataset:<16} {len(result.images):>6} {mean.psnr:>20.4f} {mean.ssim:>14.4f}")
        if verbose:
            for image in result.images:
                lines.append(f"  {image.name:<14} {'':>6} {image.score.psnr:>20.4f} {image.score.ssim:>14.4f}")
    return "\n".join(lines)


def _command_eval(args: argparse.Namespace) -> int:
    from distillsr.atomic import atomic_write_text
    from distillsr.data.benchmark import BenchmarkSet
    from distillsr.data.lr_cache import LRCache
    from distillsr.evaluation.runner import evaluate_set
    from distillsr.imaging.degrade import get_degradation
    from distillsr.metrics.protocols import get_protocol
    from distillsr.models.zoo import load_model

    protocol = get_protocol(args.protocol)
    folders = _dataset_folders(args.data)
    model = load_model(args.model, args.scale, args.weights).to(resolve_device(args.device))
    scale = model.scale
    degradation = get_degradation(args.degradation, scale, seed=args.seed)
    cache = None if args.no_cache else LRCache(args.cache_dir)
    benchmarks = [BenchmarkSet(folder, scale, degradation, cache=cache) for folder in folders]
    save_dir = Path(args.save_images) if args.save_images else None

    print(
        f"model {model.name} x{scale} | degradation {degradation.name} | protocol {protocol.name}: "
        f"{protocol.description}" + (" | self-ensemble x8" if args.self_ensemble else "")
    )
    results = []
    for benchmark in benchmarks:
        source = "stored LR" if benchmark.uses_stored_lr else f"LR made by {degradation.name}"
        print(f"{benchmark.name}: {len(benchmark)} images from {benchmark.hr_dir} ({source})", file=sys.stderr)
        results.append(
            evaluate_set(
                model,
                benchmark,
                protocol,
                self_ensemble=args.self_ensemble,
                save_dir=save_dir,
                progress=not args.quiet,
            )
        )
    print(_format_eval_table(results, protocol, args.verbose))
    if args.json:
        report = {
            "model": model.name,
            "weights": args.weights,
            "scale": scale,
            "degradation": degradation.cache_key,
            "protocol": protocol.name,
            "protocol_description": protocol.description,
            "self_ensemble": args.self_ensemble,
            "results": [r.to_dict() for r in results],
        }
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    return 0


def _command_profile(args: argparse.Namespace) -> int:
    from distillsr.efficiency import format_report, profile_model
    from distillsr.models.zoo import load_model

    input_shape = parse_input_shape(args.input)
    device = resolve_device(args.device)
    scale = args.scale if args.scale or args.weights else 4
    model = load_model(args.model, scale, args.weights).to(device)
    if model.in_channels is not None and input_shape[1] != model.in_channels:
        raise DistillsrError(f"{model.name} takes {model.in_channels} channels, not {input_shape[1]}")
    report = profile_model(
        model.network,
        input_shape,
        device=device.type,
        repeats=args.repeats,
        warmup=args.warmup,
    )
    print(f"model {model.name} x{model.scale}, LR input {'x'.join(map(str, input_shape[1:]))}")
    print(format_report(report))
    if args.json:
        from distillsr.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"model": model.name, "scale": model.scale, **report.to_dict()}, indent=2) + "\n")
    return 0


def _command_convert(args: argparse.Namespace) -> int:
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import load_model

    source = Path(args.weights)
    target = Path(args.output)
    if target.suffix.lower() != ".safetensors":
        raise DistillsrError(f"output {target} must end in .safetensors")
    if target.exists() and target.resolve() == source.resolve():
        raise DistillsrError("refusing to overwrite the input file; choose another output name")
    if target.exists() and not args.overwrite:
        raise DistillsrError(f"{target} exists; pass --overwrite to replace it")
    model = load_model(args.model, args.scale, str(source))
    info = CheckpointInfo(
        model=model.name,
        scale=model.scale,
        kwargs=model.metadata["kwargs"],
        input_range=model.input_range,
        form=model.metadata["form"],
        provenance=model.metadata.get("provenance", {}),
    )
    save_checkpoint(target, model.network.state_dict(), info)
    print(f"{source} -> {target}: {model.name} x{model.scale} ({info.form} form, input range 0-{info.input_range:g})")
    if info.provenance.get("layout"):
        print(f"recognised as {info.provenance['layout']}")
    return 0


def _command_zoo(args: argparse.Namespace) -> int:
    from distillsr.models.zoo_table import format_zoo_table

    print(format_zoo_table(scale=args.scale, macs=not args.no_macs, names=args.models or None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillsr", description="Lightweight single-image super-resolution.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ev = commands.add_parser("eval", help="score a model on benchmark sets (PSNR/SSIM)")
    ev.add_argument("--model", "-m", help="zoo model name (e.g. bicubic, e-rfdn); optional with --weights")
    ev.add_argument("--weights", "-w", help="distillsr .safetensors checkpoint or an official .pth file")
    ev.add_argument(
        "--data", "-d", required=True, action="append",
        help="benchmark folder(s), comma separated or repeated: a folder of HR images, "
        "or a set folder with HR/ and LR_bicubic/X<s>/",
    )
    ev.add_argument("--scale", "-s", type=_positive_int, help="upscaling factor (default: the checkpoint's)")
    ev.add_argument("--protocol", default="classic", help="classic (Y, border=scale) or ntire (RGB, border 4)")
    ev.add_argument("--degradation", default="BI", help="BI, BD or DN (how LR images are made from HR)")
    ev.add_argument("--seed", type=int, default=0, help="noise seed of the DN degradation")
    ev.add_argument("--self-ensemble", action="store_true", help="average over 8 flips/rotations")
    ev.add_argument("--save-images", metavar="DIR", help="write SR images to DIR/<dataset>/<name>.png")
    ev.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ev.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ev.add_argument("--cache-dir", metavar="DIR", help="where made LR images are cached")
    ev.add_argument("--no-cache", action="store_true", help="do not cache made LR images")
    ev.add_argument("--verbose", "-v", action="store_true", help="also print per-image scores")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    ev.set_defaults(handler=_command_eval)

    pr = commands.add_parser("profile", help="params, MACs/FLOPs, activations, runtime and memory of a model")
    pr.add_argument("--model", "-m", help="zoo model name; optional with --weights")
    pr.add_argument("--weights", "-w", help="checkpoint to profile (its architecture is what counts)")
    pr.add_argument("--scale", "-s", type=_positive_int, help="upscaling factor (default 4, or the checkpoint's)")
    pr.add_argument("--input", default="3x256x256", help="LR input size CxHxW (NTIRE convention: 3x256x256)")
    pr.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--repeats", type=_positive_int, default=10, help="timed runs (median reported)")
    pr.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    pr.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    pr.set_defaults(handler=_command_profile)

    cv = commands.add_parser("convert", help="convert an official .pth checkpoint to a distillsr .safetensors file")
    cv.add_argument("weights", help="official checkpoint (.pth) or distillsr checkpoint")
    cv.add_argument("--output", "-o", required=True, help="output .safetensors file")
    cv.add_argument("--model", "-m", help="expected zoo model (an error if the file is something else)")
    cv.add_argument("--scale", "-s", type=_positive_int, help="expected scale")
    cv.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cv.set_defaults(handler=_command_convert)

    zo = commands.add_parser("zoo", help="list the models with scales, params, MACs and published scores")
    zo.add_argument("models", nargs="*", help="only these models (default: all)")
    zo.add_argument("--scale", "-s", type=_positive_int, default=4, help="scale of the params/MACs columns")
    zo.add_argument("--no-macs", action="store_true", help="skip the MACs column (faster)")
    zo.set_defaults(handler=_command_zoo)
    return parser


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except DistillsrError as error:
        print(f"distillsr: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print("distillsr: error: out of memory; use smaller images or another device", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("distillsr: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as error:
        if "out of memory" in str(error).lower():
            print(f"distillsr: error: out of memory ({str(error).splitlines()[0]})", file=sys.stderr)
            return EXIT_USER_ERROR
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _run(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
