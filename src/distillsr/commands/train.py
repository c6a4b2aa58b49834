"""``distillsr train``: run a recipe's stages (single process or under ``torchrun``)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from distillsr.training.config_io import format_recipe, load_recipe
    from distillsr.training.trainer import TrainingSession

    overrides = list(args.set or [])
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    recipe = load_recipe(args.recipe, overrides)
    text = format_recipe(recipe)
    if args.print_config:
        print(text, end="")
        return 0
    session = TrainingSession(recipe, device=args.device, resume=args.resume, progress=not args.quiet, recipe_text=text)
    if session.info.is_main:
        where = f", resuming from {session.resume_path}" if session.resume_path else ""
        print(f"training {recipe.name}: {recipe.model.name} x{recipe.model.scale}, {len(recipe.stages)} stage(s), "
              f"output {session.output_dir}{where}")
    summary = session.run()
    if session.info.is_main:
        print(f"done: {summary.iterations} iteration(s) in {summary.seconds / 60:.1f} min")
        for key, value in summary.final_metrics.items():
            if "psnr" in key or "ssim" in key or key == "loss":
                print(f"  {key}: {value:.4f}")
        if summary.best_psnr is not None:
            print(f"  best validation PSNR: {summary.best_psnr:.4f} dB")
        if summary.final_model is not None:
            print(f"  final model: {summary.final_model}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    tr = commands.add_parser("train", help="train a model from a YAML recipe (stages, resume, DDP via torchrun)")
    tr.add_argument("recipe", help="YAML recipe (see configs/)")
    tr.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe key, e.g. stages.0.optimizer.lr=2e-4")
    tr.add_argument("--print-config", action="store_true", help="print the resolved recipe and exit")
    tr.add_argument("--resume", nargs="?", const="auto", help="continue from the latest state in the output folder (auto) or a state file")
    tr.add_argument("--output-dir", help="experiment folder (overrides the recipe)")
    tr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    tr.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    tr.set_defaults(handler=run)
