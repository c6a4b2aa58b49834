"""``distillsr convert``: an official checkpoint into distillsr's self-describing format."""

from __future__ import annotations

import argparse
from pathlib import Path

from distillsr.commands.common import positive_int
from distillsr.errors import DistillsrError


def run(args: argparse.Namespace) -> int:
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.writable import check_output_file

    source = Path(args.weights)
    target = Path(args.output)
    if target.suffix.lower() != ".safetensors":
        raise DistillsrError(f"output {target} must end in .safetensors")
    if target.exists() and target.resolve() == source.resolve():
        raise DistillsrError("refusing to overwrite the input file; choose another output name")
    if target.exists() and not args.overwrite:
        raise DistillsrError(f"{target} exists; pass --overwrite to replace it")
    check_output_file(target, "checkpoint")
    model = load_or_build(args.model, args.scale, str(source))
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


def register(commands: argparse._SubParsersAction) -> None:
    cv = commands.add_parser("convert", help="convert an official .pth checkpoint to a distillsr .safetensors file")
    cv.add_argument("weights", help="official checkpoint (.pth) or distillsr checkpoint")
    cv.add_argument("--output", "-o", required=True, help="output .safetensors file")
    cv.add_argument("--model", "-m", help="expected zoo model (an error if the file is something else); names the model of a bare state dict")
    cv.add_argument("--scale", "-s", type=positive_int, help="expected scale; with -m, the scale of a bare state dict")
    cv.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cv.set_defaults(handler=run)
