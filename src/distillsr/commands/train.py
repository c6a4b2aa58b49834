"""``distillsr train``: run a recipe's stages (single process or under ``torchrun``).

Ctrl-C or SIGTERM saves a training state of the iteration in progress and exits 130 (SIGINT) or
143 (SIGTERM) with one line saying where the state is and how to resume it
(:mod:`distillsr.training.interrupt`). Every console line of the run (the header, each validation
check, warnings, the stop or the summary) is also appended to ``train.log`` in the experiment
folder, so a resumed run continues the same record.

An experiment folder holds one run: a new run into a folder that holds training states is refused
unless it continues them (``--resume``) or replaces them (``--overwrite``, which moves the previous
run's files into ``previous-run-<n>/`` and says so; :mod:`distillsr.training.output_folder`).
"""

from __future__ import annotations

import argparse
import shlex

from distillsr.console import get_logger

log = get_logger(__name__)


def resume_command(args: argparse.Namespace, state=None) -> str:
    """The command line that continues this run: the same recipe, overrides and output folder.

    ``state``: the training state to name after ``--resume``, when ``--resume`` alone would pick another.
    """
    words = ["distillsr", "train", str(args.recipe)]
    for override in args.set or []:
        words += ["--set", override]
    if args.output_dir:
        words += ["--output-dir", str(args.output_dir)]
    if args.device != "auto":
        words += ["--device", args.device]
    return shlex.join([*words, "--resume", *([str(state)] if state is not None else [])])


def stopped_message(stopped, session, args: argparse.Namespace) -> str:
    """One line: which signal stopped the run, where its newest training state is, how to resume.

    The state named is the one this run wrote last (else the one it resumed from), never merely the
    highest-numbered file in the folder; the resume command names it when ``--resume`` alone would not pick it.
    """
    from distillsr.training.interrupt import signal_name

    name = signal_name(stopped.signum)
    state = session.latest_state()
    if state is None:
        return f"stopped by {name} before a training state was saved; nothing to resume (start the run again)"
    launcher = " (under torchrun, as before)" if session.info.distributed else ""
    if stopped.saved:
        what = f"stopped by {name} after iteration {stopped.iteration}; training state saved to {state}"
    elif stopped.aborted:
        what = f"stopped by {name} without saving; the previous training state is {state}"
    else:
        what = f"stopped by {name}; the latest training state is {state}"
    named = None if state == session.auto_resume_state() else state
    return f"{what}; resume with: {resume_command(args, named)}{launcher}"


def run(args: argparse.Namespace) -> int:
    from distillsr.config.errors import ConfigError
    from distillsr.errors import DistillsrError
    from distillsr.stages import format_recipe, load_recipe
    from distillsr.training.interrupt import StopSignals
    from distillsr.training.logs import text_log
    from distillsr.training.trainer import TrainingSession

    overrides = list(args.set or [])
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    recipe = load_recipe(args.recipe, overrides)
    text = format_recipe(recipe)
    if args.print_config:
        print(text, end="")
        return 0
    stop = StopSignals()
    try:
        session = TrainingSession(
            recipe, device=args.device, resume=args.resume, progress=not args.quiet, recipe_text=text, stop=stop,
            overwrite=args.overwrite,
        )
    except ConfigError as error:  # a stage's pre-run check: name the recipe file, as reading it would
        raise error.located(str(args.recipe), None) from None
    stop.announce = session.info.is_main
    with text_log(session.output_dir / "train.log", enabled=session.info.is_main) as kept:
        try:
            return _train(session, stop, args)
        except DistillsrError as error:  # cli.py prints it once this block is left: keep it in train.log too
            if kept is not None:
                kept.record_line(f"distillsr: error: {error}")
            raise


def _train(session, stop, args: argparse.Namespace) -> int:
    from distillsr.training.interrupt import TrainingStopped

    recipe = session.recipe
    if session.info.is_main:
        where = f", resuming from {session.resume_path}" if session.resume_path else ""
        log.info(
            f"training {recipe.name}: {recipe.model.name} x{recipe.model.scale}, {len(recipe.stages)} stage(s), "
            f"output {session.output_dir}{where}"
        )
        if session.replaced is not None:
            log.info(f"--overwrite: the previous run's files (training states, models, logs) were moved to {session.replaced}")
    with stop:
        try:
            summary = session.run()
        except TrainingStopped as stopped:
            if session.info.is_main:
                log.info(stopped_message(stopped, session, args))
            return stopped.exit_code
    if session.info.is_main:
        log.info(f"done: {summary.iterations} iteration(s) in {summary.seconds / 60:.1f} min")
        for key, value in summary.final_metrics.items():
            if "psnr" in key or "ssim" in key or key == "loss":
                log.info(f"  {key}: {value:.4f}")
        if summary.best_psnr is not None:
            log.info(f"  best validation PSNR: {summary.best_psnr:.4f} dB")
        if summary.final_model is not None:
            log.info(f"  final model: {summary.final_model}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    tr = commands.add_parser("train", help="train a model from a YAML recipe (stages, resume, DDP via torchrun)")
    tr.add_argument("recipe", help="YAML recipe (see configs/)")
    tr.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe key, e.g. stages.0.optimizer.lr=2e-4")
    tr.add_argument("--print-config", action="store_true", help="print the resolved recipe and exit")
    start = tr.add_mutually_exclusive_group()
    start.add_argument("--resume", nargs="?", const="auto",
                       help="continue from the latest state in the output folder (auto) or a state file")
    start.add_argument("--overwrite", action="store_true",
                       help="start a new run in an output folder that holds another run's training states (refused "
                       "without it): that run's files (checkpoints/, models/, logs, recipe.yaml) are moved, not "
                       "deleted, into OUTPUT/previous-run-N/")
    tr.add_argument("--output-dir", help="experiment folder (overrides the recipe)")
    tr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    tr.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    tr.set_defaults(handler=run)
