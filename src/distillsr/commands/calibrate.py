"""``distillsr calibrate``: difficulty thresholds for dynamic inference, stored in a checkpoint copy.

Runs every image of the calibration folder(s) at every width of a slimmable (CSD) checkpoint once,
searches thresholds on CSD's difficulty score that meet a MACs budget (``--budget 0.6``: on
average 60% of full width's MACs) or a maximum PSNR loss against full width (``--max-drop 0.1``
dB), and writes a copy of the checkpoint with the policy in its metadata
(:mod:`distillsr.inference.width_policy.policy` documents the key). ``eval --dynamic`` and
``upscale --dynamic`` then use it. The input checkpoint is never modified.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distillsr.commands.common import budget_fraction, dataset_folders, fraction, non_negative_float
from distillsr.errors import DistillsrError


def _check_target(source: Path, target: Path, overwrite: bool) -> None:
    from distillsr.writable import check_output_file

    if target.suffix.lower() != ".safetensors":
        raise DistillsrError(f"output {target} must end in .safetensors")
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise DistillsrError("refusing to overwrite the input checkpoint; choose another output name")
    if target.exists() and not overwrite:
        raise DistillsrError(f"{target} exists; pass --overwrite to replace it")
    check_output_file(target, "checkpoint")


def _describe(policy) -> str:
    rules = []
    for width, threshold in zip(policy.widths, policy.thresholds):
        rules.append(f"{width:g} if score > {threshold:.3f}" if threshold != float("inf") else f"{width:g} never")
    return ", ".join([*rules, "else 1"])


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from distillsr.checkpoints.format import save_checkpoint
    from distillsr.checkpoints.weights_file import read_weights
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.devices import resolve_device
    from distillsr.inference.width_policy.calibration import measure_sets, search
    from distillsr.data.eval_sets import eval_sets
    from distillsr.inference.width_policy.policy import POLICY_KEY
    from distillsr.inference.width_policy.scores import DEFAULT_SCORE, make_score
    from distillsr.models.zoo import ZOO

    source, target = Path(args.weights), Path(args.output)
    _check_target(source, target, args.overwrite)
    folders = dataset_folders(args.data)
    loaded = read_weights(source)  # the exact tensors and description to copy
    model = load_or_build(None, None, source).to(resolve_device(args.device))
    widths = getattr(model.network, "widths", None)
    if widths is None or len(widths) < 2:
        raise DistillsrError(
            f"{source} holds {model.name}, which has no switchable widths: calibrate needs a slimmable (CSD) "
            f"checkpoint (zoo models with widths: {', '.join(n for n, e in ZOO.items() if e.widths)})"
        )
    score = make_score(DEFAULT_SCORE, model.scale)
    sets = eval_sets(folders, model.scale)
    count = sum(len(s) for s in sets)
    print(f"calibrating {model.name} x{model.scale} at widths {', '.join(f'{w:g}' for w in sorted(widths))} on "
          f"{count} images ({', '.join(s.name for s in sets)}), score {score.name}")
    table = measure_sets(model, sets, score, progress=not args.quiet)
    found = search(table, budget=args.budget, max_drop=args.max_drop, tolerance=args.tolerance, score_name=score.name)
    policy = dataclasses.replace(
        found.policy,
        calibration={**found.policy.calibration, "data": [str(f) for f in folders], "protocol": "classic",
                     "lr": "stored LR_bicubic where present, else MATLAB bicubic (BI)"},
    )
    info = dataclasses.replace(loaded.info, provenance={**loaded.info.provenance, POLICY_KEY: policy.to_dict()})
    save_checkpoint(target, loaded.state_dict, info)

    full_psnr = table.psnr[:, -1].mean()
    for k, width in enumerate(table.widths):
        share = table.rates[k] / table.rates[-1]
        print(f"  fixed width {width:<5g} MACs {share:.3f}  PSNR {table.psnr[:, k].mean():.4f} dB")
    print(f"thresholds ({score.name}, dB): {_describe(policy)}")
    goal = f"budget {args.budget:g}" if args.budget is not None else f"max drop {args.max_drop:g} dB"
    print(
        f"achieved on the calibration images ({goal}): MACs {found.macs_fraction:.4f} of full width, "
        f"PSNR drop {found.psnr_drop:.4f} dB ({full_psnr:.4f} -> {full_psnr - found.psnr_drop:.4f}), "
        f"mean width {found.mean_width:.3f}"
    )
    if found.note:
        print(f"note: {found.note}")
    print(f"wrote {target}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    cal = commands.add_parser(
        "calibrate",
        help="find dynamic-width thresholds for a slimmable checkpoint (for eval/upscale --dynamic)",
        description="Run every image of a folder at every width, choose thresholds on CSD's difficulty score "
        "that meet a MACs budget or a maximum PSNR drop, and write a copy of the checkpoint holding them.",
    )
    cal.add_argument("--weights", "-w", required=True, metavar="CKPT", help="a slimmable (CSD) distillsr checkpoint")
    cal.add_argument("--data", "-d", required=True, action="append", metavar="DIR",
                     help="calibration folder(s), comma separated or repeated: a folder of HR images (LR made by "
                     "MATLAB bicubic, as eval makes them) or a set folder with HR/ and LR_bicubic/X<s>/")
    goal = cal.add_mutually_exclusive_group(required=True)
    goal.add_argument("--budget", type=budget_fraction, metavar="B",
                      help="average MACs as a fraction of full width's, in (0, 1], e.g. 0.6")
    goal.add_argument("--max-drop", type=non_negative_float, metavar="DB",
                      help="largest mean PSNR loss against full width, in dB, e.g. 0.1")
    cal.add_argument("--tolerance", type=fraction, default=0.05,
                     help="with --budget: spend at least (1 - tolerance) of it (default: 0.05)")
    cal.add_argument("--output", "-o", required=True, metavar="OUT.safetensors", help="the calibrated copy")
    cal.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cal.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    cal.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    cal.set_defaults(handler=run)
