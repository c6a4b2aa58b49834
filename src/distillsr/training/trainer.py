"""A training run: a recipe's stages executed in order, resumable, single- or multi-process.

The session owns what outlives a stage — the model, the output folder, logs, validation sets, the
process group — and hands each stage to the runner of its kind (:data:`STAGE_RUNNERS`, an
explicit table). A ``train`` stage is :func:`distillsr.training.loop.run_loop`; ``reparameterize``
folds the model. Later compression stages (distill, prune, contrastive) are new rows in the table
that reuse the same loop with other loss terms.

Output folder layout::

    recipe.yaml             the resolved recipe
    log.csv, tensorboard/   metrics (main process only)
    checkpoints/            training states: stage<k>_iter<n>.pt (the last few kept)
    models/                 last.safetensors, last_ema.safetensors, best.safetensors,
                            final.safetensors (after the last stage; deployed if folded)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError
from distillsr.training import distributed
from distillsr.training.interrupt import StopSignals, TrainingStopped
from distillsr.training.logs import TrainingLog
from distillsr.training.loop import (
    LoopHooks,
    LoopSettings,
    ScaledInput,
    StepRecipe,
    build_optimizer,
    restore_loop_state,
    run_loop,
)
from distillsr.training.losses import PixelLoss
from distillsr.training.preflight import check_recipe_paths, sub_image_root
from distillsr.training.schedules import Schedule
from distillsr.training.state import load_training_state, save_training_state

CHECKPOINT_PATTERN = re.compile(r"stage(\d+)_iter(\d+)\.pt$")


@dataclass
class Summary:
    """What a finished run reports."""

    output_dir: Path
    iterations: int
    seconds: float
    final_metrics: dict
    best_psnr: float | None
    final_model: Path | None


class TrainingSession:
    """Runs one recipe. ``resume`` is None, ``"auto"`` (latest state in the output folder) or a path.

    ``stop``: the signal guard the caller entered (the ``train`` command does); a stage trains
    under its :meth:`~distillsr.training.interrupt.StopSignals.deferred`, so a signal saves a state
    of the iteration in progress and raises :class:`~distillsr.training.interrupt.TrainingStopped`.
    Without one nothing is installed and signals keep Python's default behaviour.
    """

    def __init__(
        self,
        recipe,
        *,
        device: str = "auto",
        resume: str | None = None,
        progress: bool = True,
        recipe_text: str = "",
        stop: StopSignals | None = None,
    ) -> None:
        self.recipe = recipe
        self.info = distributed.process_info()
        self.device = resolve_device(device)
        if self.info.distributed and self.device.type == "cuda":
            self.device = torch.device("cuda", self.info.local_rank)
        self.output_dir = Path(recipe.output_dir)
        self.progress = progress and self.info.is_main
        self.recipe_text = recipe_text
        self.stop = stop if stop is not None else StopSignals()
        self.resume_path = self._find_resume(resume)
        check_recipe_paths(recipe)  # before the log below makes the experiment folder
        self.best_psnr: float | None = None
        self.log = TrainingLog(
            self.output_dir, tensorboard=recipe.logging.tensorboard, enabled=self.info.is_main and recipe.logging.csv
        )

    # --- resume ---------------------------------------------------------------------------

    def _checkpoints(self) -> list[tuple[int, int, Path]]:
        folder = self.output_dir / "checkpoints"
        found = []
        for path in folder.glob("stage*_iter*.pt") if folder.is_dir() else ():
            match = CHECKPOINT_PATTERN.search(path.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), path))
        return sorted(found)

    def latest_state(self) -> Path | None:
        """The newest training state in the output folder (what ``--resume`` picks)."""
        found = self._checkpoints()
        return found[-1][2] if found else None

    def _find_resume(self, resume: str | None) -> Path | None:
        if resume is None:
            return None
        if resume == "auto":
            return self.latest_state()
        path = Path(resume)
        if not path.is_file():
            raise DistillsrError(f"--resume: no training state at {path}")
        return path

    # --- model ----------------------------------------------------------------------------

    def _entry(self):
        from distillsr.models.zoo import get_entry

        return get_entry(self.recipe.model.name)

    def build_network(self) -> nn.Module:
        torch.manual_seed(self.recipe.seed)  # the same initial weights on every rank
        entry = self._entry()
        if not entry.supports(self.recipe.model.scale):
            raise DistillsrError(f"model {entry.name} has no x{self.recipe.model.scale} variant")
        return entry.build(self.recipe.model.scale, **dict(self.recipe.model.kwargs))

    def _sr_model(self, network: nn.Module):
        from distillsr.models.sr_model import SRModel

        entry = self._entry()
        return SRModel(network, entry.name, self.recipe.model.scale, entry.input_range, entry.in_channels, min_size=entry.min_size)

    def _model_info(self, form: str, extra: dict) -> CheckpointInfo:
        entry = self._entry()
        kwargs = {**entry.defaults, **dict(self.recipe.model.kwargs)}
        if form == "deploy" and "deploy" in kwargs:
            kwargs["deploy"] = True
        return CheckpointInfo(
            model=entry.name, scale=self.recipe.model.scale, kwargs=kwargs, input_range=entry.input_range,
            form=form, provenance={"recipe": self.recipe.name, **extra},
        )

    # --- data -----------------------------------------------------------------------------

    def _loader(self, stage, start_iteration: int):
        from distillsr.data.loader import iterate_batches, make_loader
        from distillsr.data.lr_cache import LRCache
        from distillsr.data.training import PairedTrainingSet

        train = self.recipe.data.train
        hr_folders = self._sub_image_folders() if train.sub_images else train.hr_folders
        batch_size = stage.batch_size or train.batch_size
        if batch_size % self.info.world_size:
            raise DistillsrError(f"batch size {batch_size} does not split evenly over {self.info.world_size} processes")
        dataset = PairedTrainingSet(
            hr_folders,
            self.recipe.model.scale,
            degradation=train.degradation,
            lr_folders=train.lr_folders or None,
            lr_patch_size=stage.lr_patch_size or train.lr_patch_size,
            augment=(train.augment.hflip, train.augment.vflip, train.augment.rot90),
            cache=LRCache(train.cache_dir) if train.cache_dir else LRCache(),
            repeat=train.repeat,
            seed=self.recipe.seed,
        )
        loader, sampler = make_loader(
            dataset, batch_size // self.info.world_size, num_workers=train.num_workers, seed=self.recipe.seed,
            rank=self.info.rank, world_size=self.info.world_size, start_iteration=start_iteration,
        )
        return iterate_batches(loader, sampler), sampler

    def _sub_image_folders(self) -> list[str]:
        """Cut the HR images into overlapping tiles once (main process), as BasicSR does for DIV2K."""
        from distillsr.data.subimages import extract_subimages

        train = self.recipe.data.train
        settings = train.sub_images
        base = sub_image_root(train)
        folders = []
        for index, folder in enumerate(train.hr_folders):
            target = base / f"{Path(folder).name}-{index}-crop{settings.crop}-step{settings.step}"
            if self.info.is_main:
                extract_subimages(folder, target, crop=settings.crop, step=settings.step, thresh=settings.thresh)
            folders.append(str(target))
        distributed.barrier(self.info)
        return folders

    # --- validation -----------------------------------------------------------------------

    def _validator(self) -> Callable[[nn.Module, int], dict] | None:
        val = self.recipe.data.val
        if not val.folders or not val.every:
            return None
        from distillsr.data.benchmark import BenchmarkSet
        from distillsr.evaluation.runner import evaluate_set
        from distillsr.metrics.protocols import get_protocol

        from distillsr.imaging.degrade import get_degradation

        protocol = get_protocol(val.protocol)
        scale = self.recipe.model.scale
        degradation = get_degradation(self.recipe.data.train.degradation, scale)  # validate on what is trained
        sets = [BenchmarkSet(folder, scale, degradation) for folder in val.folders]

        def validate(network: nn.Module, iteration: int) -> dict:
            scores: dict = {}
            if self.info.is_main:
                model = self._sr_model(network)
                was_training = network.training
                network.eval()
                for bench in sets:
                    mean = evaluate_set(model, bench, protocol, progress=False).mean
                    scores[f"{bench.name}_psnr_{protocol.name}"] = mean.psnr
                    scores[f"{bench.name}_ssim_{protocol.name}"] = mean.ssim
                network.train(was_training)
                first = scores[f"{sets[0].name}_psnr_{protocol.name}"]
                if self.best_psnr is None or first > self.best_psnr:
                    self.best_psnr = first
                    save_checkpoint(self.output_dir / "models" / "best.safetensors", network.state_dict(),
                                    self._model_info(self._form(network), {"iteration": iteration, "scores": scores}))
            distributed.barrier(self.info)
            return scores

        return validate

    @staticmethod
    def _form(network: nn.Module) -> str:
        from distillsr.nn.reparam import Foldable

        return "train" if any(isinstance(m, Foldable) for m in network.modules()) else "deploy"

    # --- stages ---------------------------------------------------------------------------

    def run(self) -> Summary:
        distributed.init_distributed(self.info, self.device, self.recipe.distributed.backend)
        try:
            return self._run()
        finally:
            self.log.close()
            distributed.shutdown(self.info)

    def _run(self) -> Summary:
        started = time.perf_counter()
        resume = load_training_state(self.resume_path) if self.resume_path else None
        if self.info.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            if self.recipe_text:
                (self.output_dir / "recipe.yaml").write_text(self.recipe_text)
        network = self.build_network().to(self.device)
        if resume is not None:
            self.best_psnr = resume.get("best_psnr")
            self.log.drop_after(int(resume["stage"]), int(resume["iteration"]))
        metrics: dict = {}
        total = 0
        for index, stage in enumerate(self.recipe.stages):
            runner = STAGE_RUNNERS.get(stage.kind)
            if runner is None:
                raise DistillsrError(f"stage {index}: kind {stage.kind!r} has no runner (known: {', '.join(STAGE_RUNNERS)})")
            resume_here = resume if resume is not None and int(resume["stage"]) == index else None
            if resume is not None and index < int(resume["stage"]):
                network = _replay_structure(stage, network)  # e.g. fold, so the saved weights fit
                continue
            network, stage_metrics, iterations = runner(self, index, stage, network, resume_here)
            metrics.update(stage_metrics)
            total += iterations
        final = None
        if self.info.is_main:
            final = self.output_dir / "models" / "final.safetensors"
            save_checkpoint(final, network.state_dict(), self._model_info(self._form(network), {"stages": len(self.recipe.stages)}))
        return Summary(self.output_dir, total, time.perf_counter() - started, metrics, self.best_psnr, final)

    def checkpoint_writer(self, index: int) -> Callable[[int, dict], None]:
        keep = self.recipe.checkpoint.keep

        def write(iteration: int, state: dict) -> None:
            if not self.info.is_main:
                return
            folder = self.output_dir / "checkpoints"
            save_training_state(folder / f"stage{index}_iter{iteration:08d}.pt",
                                {**state, "stage": index, "best_psnr": self.best_psnr})
            for _, _, old in self._checkpoints()[:-keep] if keep else ():
                old.unlink(missing_ok=True)
            models = self.output_dir / "models"
            info = self._model_info("train", {"stage": index, "iteration": iteration})
            save_checkpoint(models / "last.safetensors", state["model"], info)
            if state.get("ema") is not None:
                save_checkpoint(models / "last_ema.safetensors", state["ema"], info)

        return write


def _replay_structure(stage, network: nn.Module) -> nn.Module:
    """Re-apply a finished stage's change of architecture (not its training) on resume."""
    if stage.kind == "reparameterize":
        from distillsr.nn.reparam import deploy

        return deploy(network).train()
    return network


def _pixel_terms(stage) -> list:
    return [PixelLoss(term.type, term.weight, term.eps) for term in stage.losses]


def _wrap_distributed(session: TrainingSession, network: nn.Module) -> nn.Module:
    if not session.info.distributed:
        return network
    from torch.nn.parallel import DistributedDataParallel

    ids = [session.device.index] if session.device.type == "cuda" else None
    return DistributedDataParallel(network, device_ids=ids)


def run_train_stage(session: TrainingSession, index: int, stage, network: nn.Module, resume: dict | None):
    """A plain supervised stage: pixel losses on (LR, HR) patches."""
    from distillsr.training.ema import WeightAverage

    if stage.channels_last:
        network = network.to(memory_format=torch.channels_last)
    optimizer_cfg, scheduler_cfg = stage.optimizer, stage.scheduler
    optimizer = build_optimizer(
        optimizer_cfg.type, network.parameters(), lr=optimizer_cfg.lr, betas=optimizer_cfg.betas,
        weight_decay=optimizer_cfg.weight_decay, eps=optimizer_cfg.eps,
    )
    schedule = Schedule(
        scheduler_cfg.type, optimizer_cfg.lr, stage.iterations, tuple(scheduler_cfg.milestones), scheduler_cfg.gamma,
        scheduler_cfg.step_size or 0, scheduler_cfg.warmup_iterations, scheduler_cfg.min_lr,
    )
    ema = WeightAverage(network, stage.ema_decay) if stage.ema_decay else None
    batches, sampler = session._loader(stage, 0)
    start = 0
    if resume is not None:  # the batch stream is lazy: it starts wherever the restored sampler stands
        start = restore_loop_state(resume, network, optimizer, sampler, ema)
    input_range = session._entry().input_range
    model = _wrap_distributed(session, ScaledInput(network, input_range) if input_range != 1.0 else network)
    logging = session.recipe.logging
    settings = LoopSettings(
        iterations=stage.iterations, schedule=schedule, grad_clip=stage.grad_clip, ema_decay=stage.ema_decay,
        amp=stage.amp, channels_last=stage.channels_last, print_every=logging.print_every,
        validate_every=session.recipe.data.val.every, checkpoint_every=session.recipe.checkpoint.every,
    )
    hooks = LoopHooks(
        log=lambda iteration, metrics: session.log.log(index, iteration, metrics),
        validate=session._validator(),
        checkpoint=session.checkpoint_writer(index),
        stop=lambda: distributed.agreed_signal(session.info, session.stop.requested, session.device),
        progress=session.progress,
    )
    try:
        with session.stop.deferred():
            metrics = run_loop(model, batches, sampler, optimizer, StepRecipe(_pixel_terms(stage)), settings, hooks,
                               device=session.device, start_iteration=start, ema=ema,
                               running=resume.get("running") if resume is not None else None)
    except TrainingStopped as stopped:
        if stopped.saved:  # every rank stops at the same iteration: none leaves before rank 0 has saved
            distributed.barrier(session.info)
        raise
    if ema is not None:  # later stages and the final model continue from the averaged weights
        network.load_state_dict(ema.state_dict())
    return network, metrics, stage.iterations - start


def run_reparameterize_stage(session: TrainingSession, index: int, stage, network: nn.Module, resume: dict | None):
    """Fold every train-time block into its deploy form (DBB, RRRB, ...)."""
    from distillsr.nn.reparam import deploy

    folded = deploy(network)
    return folded.train(), {}, 0


STAGE_RUNNERS: dict[str, Callable] = {
    "train": run_train_stage,
    "reparameterize": run_reparameterize_stage,
}
