"""A training run: a recipe's stages executed in order, resumable, single- or multi-process.

The session owns what outlives a stage — the model, the output folder, logs, the process group —
and shares it with the stages through one public
:class:`~distillsr.training.stages.context.StageContext`. Each stage is run by the class its options
name (:func:`~distillsr.training.stages.runner.stage_runner`: ``train`` runs
:func:`distillsr.training.loop.run_loop`; ``reparameterize`` folds the model, checked); the session
knows no table of kinds, so compression stages plug in without it importing them.

Before anything is created, the session asks every stage's runner to check its stage
(:meth:`~distillsr.training.stages.base.StageKind.check`: a teacher that loads, anchors that
exist), so a bad stage late in the recipe stops the run before the first one trains. What a
finished stage hands on comes back in its :class:`~distillsr.training.stages.base.StageResult`;
the session merges its ``model_kwargs`` into the description of every later model file.

Resuming: the newest training state names its stage; the stages before it are *replayed* (their
change of architecture re-applied, e.g. the fold, so the saved weights fit), the stage itself
continues from the state, and the stages after it run as usual.

Output folder layout::

    recipe.yaml             the resolved recipe
    train.log               the console's lines, with times (written by ``distillsr train``)
    log.csv, tensorboard/   metrics (main process only)
    checkpoints/            training states: stage<k>_iter<n>.pt (the last few written kept)
    models/                 last.safetensors, last_ema.safetensors, best.safetensors,
                            final.safetensors (after the last stage; deployed if folded)
    previous-run-<n>/       an earlier run's files, moved aside by ``overwrite``

A folder holds one run: a new run into a folder with training states is refused unless it
resumes them or replaces them (``overwrite``; :mod:`distillsr.training.output_folder`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError
from distillsr.training import distributed
from distillsr.training.interrupt import StopSignals
from distillsr.training.logs import TrainingLog
from distillsr.training.output_folder import claim_output_folder, newest_state, states_folder
from distillsr.training.preflight import check_recipe_paths
from distillsr.training.stages.context import StageContext
from distillsr.training.stages.runner import stage_runner
from distillsr.training.state import load_training_state


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

    ``overwrite``: a folder holding another run's training states is taken over, that run's files
    moved into ``previous-run-<n>/`` (:attr:`replaced` says where); without it, and without
    ``resume``, such a folder is refused.

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
        overwrite: bool = False,
    ) -> None:
        if resume is not None and overwrite:
            raise DistillsrError("--resume continues the run in the output folder and --overwrite replaces it: give one")
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
        self.context = StageContext(  # its log is attached once the folder is claimed: the checks write nothing
            recipe, device=self.device, process=self.info, stop=self.stop,
            log=TrainingLog(self.output_dir, enabled=False), progress=self.progress,
        )
        self.kinds = [stage_runner(config) for config in recipe.stages]
        for index, (kind, config) in enumerate(zip(self.kinds, recipe.stages)):
            kind.check(self.context, index, config)  # before an earlier stage spends hours, and before any file moves
        self.replaced = None if resume is not None else claim_output_folder(
            self.output_dir, overwrite=overwrite, move=self.info.is_main
        )  # before anything of this run is written
        self.context.log = TrainingLog(
            self.output_dir, tensorboard=recipe.logging.tensorboard, enabled=self.info.is_main and recipe.logging.csv
        )

    @property
    def log(self) -> TrainingLog:
        return self.context.log

    @property
    def best_psnr(self) -> float | None:
        return self.context.best_psnr

    # --- resume ---------------------------------------------------------------------------

    def latest_state(self) -> Path | None:
        """This run's newest training state: the one it wrote last, else the one it resumed from.

        Not the highest-numbered file in the folder: a run resumed from an earlier state leaves
        later-numbered states of the abandoned continuation there until they are pruned.
        """
        return self.context.last_state or self.resume_path

    def auto_resume_state(self) -> Path | None:
        """The state ``--resume`` without a path would pick (the highest stage and iteration in the folder)."""
        return newest_state(self.output_dir)

    def _find_resume(self, resume: str | None) -> Path | None:
        if resume is None:
            return None
        if resume == "auto":
            found = self.auto_resume_state()
            if found is None:
                raise DistillsrError(
                    f"--resume: no training state in {states_folder(self.output_dir)} to continue from; "
                    "start the run without --resume"
                )
            return found
        path = Path(resume)
        if not path.is_file():
            raise DistillsrError(f"--resume: no training state at {path}")
        return path

    # --- the run ----------------------------------------------------------------------------

    def build_network(self) -> nn.Module:
        """The recipe's model with its initial weights (the same on every rank: seeded by the recipe)."""
        torch.manual_seed(self.recipe.seed)
        entry = self.context.entry
        if not entry.supports(self.recipe.model.scale):
            raise DistillsrError(f"model {entry.name} has no x{self.recipe.model.scale} variant")
        return entry.build(self.recipe.model.scale, **dict(self.recipe.model.kwargs))

    def run(self) -> Summary:
        distributed.init_distributed(self.info, self.device, self.recipe.distributed.backend)
        try:
            return self._run()
        finally:
            self.log.close()
            distributed.shutdown(self.info)

    def _run(self) -> Summary:
        started = time.perf_counter()
        context = self.context
        resume = load_training_state(self.resume_path) if self.resume_path else None
        if self.info.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            if self.recipe_text:
                (self.output_dir / "recipe.yaml").write_text(self.recipe_text)
        network = self.build_network().to(self.device)
        resume_stage = -1
        if resume is not None:
            resume_stage = int(resume["stage"])
            context.best_psnr = resume.get("best_psnr")
            self.log.drop_after(resume_stage, int(resume["iteration"]))
        metrics: dict = {}
        total = 0
        for index, (kind, config) in enumerate(zip(self.kinds, self.recipe.stages)):
            if index < resume_stage:  # finished before the stop: re-apply its change of architecture only
                done = (resume.get("finished") or {}).get(str(index), {})
                network = kind.replay(network, config, done.get("record"))
                self._finish(index, done.get("record"), done.get("model_kwargs"))
                continue
            result = kind.run(context, index, config, network, resume if index == resume_stage else None)
            network = result.network
            self._finish(index, result.record, result.model_kwargs)
            metrics.update(result.metrics)
            total += result.iterations
        final = context.save_model("final", network, {"stages": len(self.recipe.stages)})
        return Summary(self.output_dir, total, time.perf_counter() - started, metrics, context.best_psnr, final)

    def _finish(self, index: int, record: dict | None, model_kwargs: dict | None) -> None:
        """Remember what a finished stage changed, so later states carry it and later model files describe it."""
        if model_kwargs:
            self.context.model_kwargs.update(model_kwargs)
        if record is not None or model_kwargs:
            self.context.finished[str(index)] = {"record": record, "model_kwargs": dict(model_kwargs or {})}
