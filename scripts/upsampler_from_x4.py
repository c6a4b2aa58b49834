"""A x2 or x3 start for a x4 network: the same body, and a pixel-shuffle upsampler derived from the x4 one.

    python scripts/upsampler_from_x4.py X4_WEIGHTS --scale 2 -o init_x2.safetensors

Each x``s`` sub-pixel filter becomes the area-weighted mean of the x4 sub-pixel filters it overlaps
(:mod:`distillsr.nn.rescale_upsampler`): the new tail draws the x4 output box-downscaled to x``s``.
A start near the answer instead of a random upsampler, which a short CPU fine-tuning cannot make up for.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", help="a x4 checkpoint (distillsr or official) of a pixel-shuffle network")
    parser.add_argument("--scale", type=int, required=True, choices=[2, 3])
    parser.add_argument("-o", "--output", required=True, type=Path)
    args = parser.parse_args()

    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.models.zoo import build_model
    from distillsr.nn.rescale_upsampler import rescale_state_for_scale

    model = load_or_build(None, None, args.weights)
    if model.scale != 4:
        raise SystemExit(f"{args.weights} is a x{model.scale} model, not x4")
    target = build_model(model.metadata.get("architecture", model.name), scale=args.scale, **model.metadata["kwargs"])
    state, _ = rescale_state_for_scale(model.network.state_dict(), target.network.state_dict(), 4, args.scale)
    info = CheckpointInfo(
        model=model.metadata.get("architecture", model.name), scale=args.scale, kwargs=model.metadata["kwargs"],
        input_range=model.input_range, form=model.metadata.get("form", "train"),
        provenance={"derived_from": str(args.weights), "how": f"x4 upsampler area-averaged to x{args.scale}"},
    )
    save_checkpoint(args.output, state, info)
    print(f"{args.output}: x{args.scale} start from {args.weights}")


if __name__ == "__main__":
    main()
