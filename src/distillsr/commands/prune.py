"""``distillsr prune``: iterative structured pruning of a trained model into a smaller dense one.

Each step removes the weakest ``--step`` fraction of every channel group (groups derived from the
model, filters ranked by L2 norm), optionally fine-tunes for ``--finetune-iters`` iterations on
``--data`` (against a ``--teacher``'s outputs if given), and prints params, MACs and validation
PSNR. It stops at ``--target-params``/``--target-macs`` (the last step lands on the target) or
before the step that loses more than ``--max-drop`` dB on ``--val``. The result is an ordinary
checkpoint that ``eval``, ``upscale``, ``profile``, ``export`` and ``convert`` load like any other.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from distillsr.commands.common import (
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from distillsr.console import get_logger
from distillsr.errors import DistillsrError

log = get_logger(__name__)


def _check_arguments(args: argparse.Namespace) -> Path:
    if args.finetune_iters and not args.data:
        raise DistillsrError("--finetune-iters needs --data (a folder of HR training images)")
    if args.data and not args.finetune_iters:
        raise DistillsrError("--data is for fine-tuning: give --finetune-iters N as well")
    if args.teacher and not args.finetune_iters:
        raise DistillsrError("--teacher guides the fine-tuning: give --finetune-iters N and --data as well")
    if args.teacher_weights and not args.teacher:
        raise DistillsrError("-tw/--teacher-weights needs --teacher MODEL")
    if args.criterion == "activation" and not (args.data or args.val):
        raise DistillsrError("--criterion activation measures channels on images: give --data or --val")
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


HEADER = f"{'step':>4} {'removed':>8} {'params':>10} {'MACs (G)':>9} {'PSNR (dB)':>10} {'seconds':>8}"


def _row(record, seconds: float) -> str:
    removed = "-" if record.index == 0 else f"{record.fraction:.1%}"
    psnr = "-" if record.psnr is None else f"{record.psnr:.4f}"
    return f"{record.index:>4} {removed:>8} {record.params:>10,} {record.macs / 1e9:>9.3f} {psnr:>10} {seconds:>8.1f}"


def _criterion(args: argparse.Namespace, model):
    """None for L2 filter norms; else activation RMS on calibration patches of --data (or --val)."""
    if args.criterion != "activation":
        return None
    import functools

    from distillsr.compression.pruning.finetune import calibration_batch
    from distillsr.compression.pruning.ranking import activation_importance

    folders = args.data or [args.val]
    batch = calibration_batch(folders, model.scale, lr_patch_size=args.patch_size, seed=args.seed)
    log.info(f"ranking channels by their activations on {len(batch)} patches of {', '.join(folders)}")
    return functools.partial(activation_importance, batch=batch * model.input_range)


def _finetuner(args: argparse.Namespace, model, device):
    """ψ: --finetune-iters iterations on --data after every step, towards --teacher's SR if given."""
    from distillsr import api
    from distillsr.compression.pruning.finetune import FinetuneSettings, make_finetuner

    teacher = None
    if args.teacher:
        teacher = api.load_model(args.teacher, weights=args.teacher_weights, scale=model.scale, device=str(device))
        log.info(f"fine-tuning against the outputs of {teacher.name} x{teacher.scale} (frozen teacher)")
    settings = FinetuneSettings(
        hr_folders=tuple(args.data), iterations=args.finetune_iters, batch_size=args.batch_size,
        lr_patch_size=args.patch_size, lr=args.lr, loss=args.loss, seed=args.seed,
    )
    return make_finetuner(settings, model.scale, device, teacher)


def run(args: argparse.Namespace) -> int:
    from distillsr.checkpoints.format import save_checkpoint
    from distillsr.checkpoints.model_loading import load_model
    from distillsr.compression.pruning.checkpoint import (
        deployed,
        pruned_checkpoint_info,
    )
    from distillsr.compression.pruning.finetune import make_validator
    from distillsr.compression.pruning.iterative import PruneTarget, prune_iteratively
    from distillsr.devices import resolve_device

    target_path = _check_arguments(args)
    target = PruneTarget(params=args.target_params, macs=args.target_macs, max_drop=args.max_drop)
    device = resolve_device(args.device)
    model = deployed(load_model(args.model, args.scale, args.weights)).to(device)
    log.info(f"pruning {model.name} x{model.scale} from {args.weights} to {target.describe()}, {args.step:.1%} per step")
    finetune = _finetuner(args, model, device) if args.finetune_iters else None
    validate = make_validator(args.val, model.scale) if args.val else None
    criterion = _criterion(args, model)
    started = time.perf_counter()
    print(HEADER, flush=True)
    result = prune_iteratively(
        model, args.step, target, finetune, validate, criterion=criterion,
        on_step=lambda record: print(_row(record, time.perf_counter() - started), flush=True),
    )
    kept = result.steps[result.kept]
    provenance = {
        "pruned_from": str(args.weights),
        "source": model.metadata.get("provenance", {}),
        "pruning": {
            "target": target.describe(), "step": args.step, "steps": result.kept,
            "finetune_iterations": args.finetune_iters, "teacher": args.teacher, "stopped": result.stopped,
            "criterion": args.criterion,
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
        "prune", help="iteratively prune a model's channels (L2 filter norms) to a target, with optional fine-tuning",
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
    pr.add_argument("--criterion", choices=["l2", "activation"], default="l2",
                    help="rank channels by L2 filter norms (DIPNet) or by their activations on --data/--val images")
    pr.add_argument("--finetune-iters", type=non_negative_int, default=0, metavar="N",
                    help="fine-tuning iterations after every step (0: none)")
    pr.add_argument("--data", action="append", metavar="DIR", help="HR training images for fine-tuning (repeatable)")
    pr.add_argument("--teacher", metavar="MODEL", help="fine-tune towards this model's SR output (zoo name or weights file)")
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
    pr.set_defaults(handler=run)
