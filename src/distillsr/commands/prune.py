"""``distillsr prune``: iterative structured pruning of a trained model into a smaller dense one.

Each step removes the weakest ``--step`` fraction of every channel group (groups derived from the
model, channels ranked by ``--criterion``: the output change they cause, estimated on calibration patches, by default),
optionally fine-tunes for ``--finetune-iters`` iterations on ``--data`` towards the unpruned
model's own output (DIPNet's enhanced HR; ``--teacher`` names another model, ``--teacher none``
trains on the ground truth), and prints params, MACs, the PSNR on the calibration patches and on
``--val``. The calibration patches come from ``--data``, or from the photos shipped with the
package when no images are given. A step whose model is non-finite or below bicubic on them ends
the run with one line and writes nothing. It stops at ``--target-params``/``--target-macs`` (the
last step lands on the target) or before the step that loses more than ``--max-drop`` dB on
``--val``. The result is an ordinary checkpoint that ``eval``, ``upscale``, ``profile``,
``export`` and ``convert`` load like any other.

The criterion, the floor, the fine-tuner and its self-teacher, and the steps are those of a recipe's
``kind: prune`` stage (:mod:`distillsr.compression.pruning.pruner`); this command only maps its
arguments to their inputs and prints the table. It does not run the trainer: a one-file result
needs no experiment folder, training states or recipe.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr.commands.common import (
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from distillsr.compression.pruning.criteria import CRITERIA, DEFAULT_CRITERION
from distillsr.console import get_logger
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.compression.pruning.pruner import Finetuning

log = get_logger(__name__)


def _check_arguments(args: argparse.Namespace) -> Path:
    if args.finetune_iters and not args.data:
        raise DistillsrError("--finetune-iters needs --data (a folder of HR training images)")
    if args.teacher and not args.finetune_iters:
        raise DistillsrError("--teacher guides the fine-tuning: give --finetune-iters N and --data as well")
    if args.teacher_weights and args.teacher in (None, SELF, NO_TEACHER):
        raise DistillsrError("-tw/--teacher-weights needs --teacher MODEL")
    if args.max_drop is not None and not args.val:
        raise DistillsrError("--max-drop needs --val DIR (the validation images the drop is measured on)")
    target = Path(args.output)
    if target.suffix.lower() != ".safetensors":
        raise DistillsrError(f"output {target} must end in .safetensors")
    if target.exists() and target.resolve() == Path(args.weights).resolve():
        raise DistillsrError("refusing to overwrite the input file; choose another output name")
    if target.exists() and not args.overwrite:
        raise DistillsrError(f"{target} exists; pass --overwrite to replace it")
    from distillsr.writable import check_output_file

    return check_output_file(target, "pruned checkpoint")


SELF = "self"
NO_TEACHER = "none"
HEADER = (f"{'step':>4} {'removed':>8} {'params':>10} {'MACs (G)':>9} {'calib dB':>9} {'PSNR (dB)':>10} "
          f"{'seconds':>8}")


def _row(record, seconds: float) -> str:
    removed = "-" if record.index == 0 else f"{record.fraction:.1%}"
    psnr = "-" if record.psnr is None else f"{record.psnr:.4f}"
    calibration = "-" if record.calibration_psnr is None else f"{record.calibration_psnr:.2f}"
    return (f"{record.index:>4} {removed:>8} {record.params:>10,} {record.macs / 1e9:>9.3f} {calibration:>9} "
            f"{psnr:>10} {seconds:>8.1f}")


def _finetuning(args: argparse.Namespace, model, device) -> Finetuning:
    """ψ: --finetune-iters iterations on --data after every step, towards the teacher's SR (the
    unpruned model itself unless --teacher names another, or ``none`` for the ground truth)."""
    from distillsr import api
    from distillsr.compression.pruning.finetune import FinetuneSettings
    from distillsr.compression.pruning.pruner import SELF_TEACHER, Finetuning

    teacher = None
    if args.teacher in (None, SELF):
        teacher = SELF_TEACHER
        log.info(f"fine-tuning against the outputs of the unpruned {model.name} (frozen copy; --teacher none: ground truth)")
    elif args.teacher != NO_TEACHER:
        teacher = api.load_model(args.teacher, weights=args.teacher_weights, scale=model.scale, device=str(device))
        log.info(f"fine-tuning against the outputs of {teacher.name} x{teacher.scale} (frozen teacher)")
    settings = FinetuneSettings(
        hr_folders=tuple(args.data), iterations=args.finetune_iters, batch_size=args.batch_size,
        lr_patch_size=args.patch_size, lr=args.lr, loss=args.loss, seed=args.seed,
    )
    return Finetuning(settings, teacher)


def run(args: argparse.Namespace) -> int:
    from distillsr.checkpoints.format import save_checkpoint
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.compression.pruning.checkpoint import (
        deployed,
        pruned_checkpoint_info,
    )
    from distillsr.compression.pruning.finetune import make_validator
    from distillsr.compression.pruning.iterative import PruneTarget
    from distillsr.compression.pruning.pruner import calibration_patches, prune_model, pruning_tools
    from distillsr.devices import resolve_device

    target_path = _check_arguments(args)
    target = PruneTarget(params=args.target_params, macs=args.target_macs, max_drop=args.max_drop)
    device = resolve_device(args.device)
    model = deployed(load_or_build(args.model, args.scale, args.weights)).to(device)
    log.info(f"pruning {model.name} x{model.scale} from {args.weights} to {target.describe()}, {args.step:.1%} per step")
    calibration = calibration_patches(args.data, model.scale, lr_patch_size=args.patch_size, seed=args.seed)
    log.info(f"calibration: {len(calibration)} patches of {calibration.source} (bicubic {calibration.bicubic_psnr:.2f} dB "
             f"on them); ranking channels by {args.criterion}")
    finetuning = _finetuning(args, model, device) if args.finetune_iters else None
    validate = make_validator(args.val, model.scale) if args.val else None
    tools = pruning_tools(model, calibration, criterion=args.criterion, bicubic_floor=not args.allow_below_bicubic,
                          finetuning=finetuning, device=device)
    started = time.perf_counter()
    print(HEADER, flush=True)
    result = prune_model(
        model, tools, step=args.step, target=target, validate=validate,
        on_step=lambda record: print(_row(record, time.perf_counter() - started), flush=True),
    )
    kept = result.steps[result.kept]
    provenance = {
        "pruned_from": str(args.weights),
        "source": model.metadata.get("provenance", {}),
        "pruning": {
            "target": target.describe(), "step": args.step, "steps": result.kept,
            "finetune_iterations": args.finetune_iters, "stopped": result.stopped, "criterion": args.criterion,
            "teacher": (args.teacher or SELF) if args.finetune_iters else None,
            "calibration": {"source": calibration.source, "patches": len(calibration),
                            "psnr_classic": kept.calibration_psnr, "bicubic_psnr_classic": calibration.bicubic_psnr},
        },
    }
    if kept.psnr is not None:
        provenance["pruning"]["validation"] = {"folder": str(args.val), "psnr_classic": kept.psnr}
    info = pruned_checkpoint_info(result.model, provenance)
    save_checkpoint(target_path, result.model.network.state_dict(), info)
    log.info(f"stopped: {result.stopped}")
    print(f"kept step {kept.index}: {kept.params:,} params, {kept.macs / 1e9:.3f} G MACs at 3x256x256 -> {target_path}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    pr = commands.add_parser(
        "prune", help="iteratively prune a model's channels to a target, with optional fine-tuning",
        description="Remove the weakest --step fraction of every channel group per step, fine-tune, repeat until a target.",
    )
    pr.add_argument("--weights", "-w", required=True, help="the model to prune: distillsr .safetensors or official .pth")
    pr.add_argument("--model", "-m", help="zoo model name (checked against the file; names a bare state dict)")
    pr.add_argument("--scale", "-s", type=positive_int, help="scale (checked against the file; names a bare state dict)")
    goal = pr.add_mutually_exclusive_group(required=True)
    goal.add_argument("--target-params", type=positive_int, metavar="N", help="stop at N parameters")
    goal.add_argument("--target-macs", type=positive_float, metavar="G", help="stop at G GMACs for a 3x256x256 input")
    goal.add_argument("--max-drop", type=non_negative_float, metavar="DB",
                      help="prune while the --val PSNR stays within DB dB of the unpruned model's")
    pr.add_argument("--step", type=fraction, default=0.1, help="fraction of every group removed per step (DIPNet: 0.3125)")
    pr.add_argument("--criterion", choices=list(CRITERIA), default=DEFAULT_CRITERION,
                    help="rank channels by the output change their removal causes (sensitivity, default), the "
                         "first-order Taylor estimate of the loss change, their activations (all on the calibration "
                         "patches), or by L2 filter norms (DIPNet's choice)")
    pr.add_argument("--finetune-iters", type=non_negative_int, default=0, metavar="N",
                    help="fine-tuning iterations after every step (0: none)")
    pr.add_argument("--data", action="append", metavar="DIR",
                    help="HR training images (repeatable): fine-tuning patches, and the calibration patches the "
                         "criterion and the bicubic check use (default: the photos shipped with distillsr)")
    pr.add_argument("--teacher", metavar="MODEL",
                    help="fine-tune towards this model's SR output (zoo name or weights file); default 'self': the "
                         "unpruned model's; 'none': the ground truth")
    pr.add_argument("--teacher-weights", "-tw", metavar="W", help="the teacher's weights")
    pr.add_argument("--val", metavar="DIR", help="validation images: PSNR (classic protocol) printed per step")
    pr.add_argument("--batch-size", type=positive_int, default=16, help="fine-tuning batch size")
    pr.add_argument("--patch-size", type=positive_int, default=48, help="fine-tuning LR patch size")
    pr.add_argument("--lr", type=positive_float, default=1e-4, help="fine-tuning learning rate (cosine decay per step)")
    pr.add_argument("--loss", default="l1", choices=["l1", "l2", "charbonnier"], help="fine-tuning pixel loss")
    pr.add_argument("--seed", type=int, default=0, help="seed of the fine-tuning patches")
    pr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    pr.add_argument("--output", "-o", required=True, help="output .safetensors file")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    pr.add_argument("--allow-below-bicubic", action="store_true",
                    help="write the model even if a step scores below bicubic on the calibration patches "
                         "(for experiments; by default such a step stops the run and nothing is written)")
    pr.set_defaults(handler=run)
