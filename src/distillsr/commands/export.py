"""``distillsr export``: a zoo model or checkpoint as a verified, self-describing ONNX file.

Every check that needs no model (the output name, overwriting, whether the output location can
be written, the ``--verify-image`` file) runs before the model is loaded and traced, so a
mistake costs a second, not an export.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr.commands.common import positive_int
from distillsr.errors import DistillsrError

if TYPE_CHECKING:  # the real imports wait for the handler, so `--help` stays fast
    import numpy as np

    from distillsr.checkpoints.model_spec import ModelSpec
    from distillsr.inference.export import ExportReport
    from distillsr.models.sr_model import SRModel

VERIFY_CROP = 64  # large enough for ESA's 15-px minimum at both sizes, small enough to be quick


def _model_spec(args: argparse.Namespace) -> ModelSpec:
    """MODEL as every command reads it (:func:`~distillsr.checkpoints.model_spec.model_spec`), plus
    export's own rule: a zoo name without weights needs its scale, to pick the official file (or,
    where none is published, to build the untrained network)."""
    from distillsr.checkpoints.model_spec import model_spec

    spec = model_spec(args.model, weights=args.weights, scale=args.scale, width=args.width)
    if spec.kind == "zoo" and spec.scale is None:
        raise DistillsrError(f"give the scale (-s) to export {args.model} without weights (-w)")
    return spec


def _check_output(target: Path, weights: str | None, overwrite: bool) -> None:
    from distillsr.writable import check_output_file

    if target.suffix.lower() != ".onnx":
        raise DistillsrError(f"output {target} must end in .onnx")
    if weights is not None and target.exists() and target.resolve() == Path(weights).resolve():
        raise DistillsrError("refusing to overwrite the input file; choose another output name")
    if target.exists() and not overwrite:
        raise DistillsrError(f"{target} exists; pass --overwrite to replace it")
    check_output_file(target, "ONNX model")


def _read_verify_image(args: argparse.Namespace) -> np.ndarray | None:
    """The ``--verify-image`` pixels, read before the model so a bad file fails at once."""
    if args.verify_image is None:
        return None
    if args.no_verify:
        raise DistillsrError("--verify-image and --no-verify contradict each other; give one")
    from distillsr.imaging.read import read_image

    return read_image(args.verify_image)


def _describe_export(report: ExportReport, model: SRModel, random_weights: bool) -> str:
    source = "train form, folded to deploy" if report.source_form == "train" else "deploy form: nothing to fold"
    width = f", width {report.width:g}" if report.width is not None else ""
    scaling = f"; input range 0-{model.input_range:g} baked in" if model.input_range != 1.0 else ""
    note = " [random weights: no -w given]" if random_weights else ""
    return (
        f"exported {report.model} x{report.scale} ({source}{width}{scaling}) -> {report.path}: "
        f"{report.file_bytes / 1e6:.2f} MB, {report.stored_values:,} values, opset {report.opset}, "
        f"{report.seconds:.1f} s{note}"
    )


def _describe_verification(report: ExportReport) -> str:
    if not report.verified:
        return "not verified (--no-verify); the graph takes float32 NCHW in [0, 1] with any batch, height and width"
    runs = ", ".join(
        f"{diff:.2e} at {n}x{h}x{w}" for (n, h, w), diff in zip(report.sizes, report.max_abs_diff)
    )
    return f"verified with onnxruntime against PyTorch on a {report.image_source}: max abs diff {runs} (tolerance {report.atol:g})"


def run(args: argparse.Namespace) -> int:
    from distillsr.checkpoints.model_loading import open_spec
    from distillsr.inference.export import export_onnx, verification_image

    spec = _model_spec(args)  # a zoo name without widths given --width fails here, before any download
    target = Path(args.output)
    _check_output(target, spec.path, args.overwrite)
    pixels = _read_verify_image(args)
    # -m NAME alone: the official file (a download) where one is published, else the untrained network
    model = open_spec(spec, zoo_weights="official-or-fresh")
    if args.width is not None:
        model.set_width(args.width)
    image, source = (None, None)
    if not args.no_verify:
        image, source = verification_image(
            model.in_channels or 3, VERIFY_CROP, image=pixels, name=args.verify_image, min_size=model.min_size
        )
    report = export_onnx(model, target, opset=args.opset, verify_image=image, image_source=source)
    print(_describe_export(report, model, random_weights=not model.metadata.get("weights")))
    print(_describe_verification(report))
    if report.warnings:
        verdict = "harmless here: both verified sizes still matched" if report.verified else "not verified: run without --no-verify"
        print(f"tracer froze {len(report.warnings)} value(s) ({verdict}):")
        for warning in report.warnings:
            print(f"  {warning}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    ex = commands.add_parser("export", help="export a model (deploy form, [0, 1] in/out, any size) to ONNX, verified")
    ex.add_argument("model", metavar="MODEL", help="builtin, a zoo name, or a checkpoint (.safetensors, or an official .pth)")
    ex.add_argument("--weights", "-w", help="weights for a zoo MODEL (distillsr .safetensors or official .pth)")
    ex.add_argument("--scale", "-s", type=positive_int, help="scale (needed for a zoo model without weights)")
    ex.add_argument("--output", "-o", required=True, help="output .onnx file")
    ex.add_argument("--opset", type=positive_int, help="ONNX opset, 11-20 (default 17)")
    ex.add_argument("--width", type=float, help="export a channel-splitting (CSD) model at this width, e.g. 0.5")
    ex.add_argument("--verify-image", metavar="FILE",
                    help=f"verify on the {VERIFY_CROP}x{VERIFY_CROP} centre crop of this image "
                         "(default: a built-in synthetic pattern)")
    ex.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check against PyTorch")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    ex.set_defaults(handler=run)
