"""What a stage may use of the run it belongs to: one public object instead of the session's internals.

The session makes one :class:`StageContext` per run and hands it to every stage. It describes the
model (zoo entry, checkpoint metadata), holds the device and process group, makes patch loaders
and validators, logs metrics and console lines, and writes training states and model files. A
stage kind written outside this package needs nothing else.

Everything that writes (logs, model files, training states) does so on the main process only;
every method may be called on every rank.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.console import get_logger
from distillsr.errors import DistillsrError
from distillsr.training import distributed
from distillsr.training.distributed import ProcessInfo
from distillsr.training.interrupt import StopSignals, TrainingStopped
from distillsr.training.logs import TrainingLog, loss_line
from distillsr.training.loop import LoopHooks
from distillsr.training.preflight import sub_image_root
from distillsr.training.state import find_states, save_training_state


class StageContext:
    """The run as a stage sees it.

    Attributes: ``recipe`` (the whole :class:`~distillsr.training.recipe.RecipeConfig`),
    ``device``, ``process`` (rank and world size), ``stop`` (the signal guard), ``log`` (log.csv and
    TensorBoard), ``logger`` (console and ``train.log`` lines), ``progress`` (show a progress bar),
    ``best_psnr`` (the best first-set validation PSNR so far), ``model_kwargs`` (hyperparameters
    finished stages changed, e.g. pruned widths, written into every later model file: the session
    merges each :attr:`~distillsr.training.stages.base.StageResult.model_kwargs` in; stages read it
    and never write it), ``written_states`` (the training states this run wrote and still keeps,
    oldest first; :attr:`last_state`).

    A stage whose network is described differently *while it runs* (a csd stage's trained widths)
    passes those hyperparameters to the writers of its own model files (``model_kwargs=`` of
    :meth:`validator`, :meth:`checkpoint_writer`, :meth:`loop_hooks`), and returns them in its
    result for the files after it.
    """

    def __init__(
        self,
        recipe,
        *,
        device: torch.device,
        process: ProcessInfo,
        stop: StopSignals,
        log: TrainingLog,
        progress: bool,
    ) -> None:
        self.recipe = recipe
        self.device = device
        self.process = process
        self.stop = stop
        self.log = log
        self.progress = progress
        self.logger = get_logger("distillsr.training")
        self.best_psnr: float | None = None
        self.model_kwargs: dict[str, Any] = {}
        self.finished: dict[str, dict] = {}  # stage index -> what its replay needs, carried in every later state
        self.written_states: list[Path] = []

    # --- the model ---------------------------------------------------------------------------

    @property
    def output_dir(self) -> Path:
        return Path(self.recipe.output_dir)

    @property
    def entry(self):
        """The zoo entry of the recipe's model."""
        from distillsr.models.zoo import get_entry

        return get_entry(self.recipe.model.name)

    @property
    def input_range(self) -> float:
        """The value range the network expects (255 for E-RFDN and EDSR); batches are always [0, 1]."""
        return self.entry.input_range

    @staticmethod
    def form_of(network: nn.Module) -> str:
        """``train`` while a foldable block is left, else ``deploy``."""
        from distillsr.nn.reparam import Foldable

        return "train" if any(isinstance(m, Foldable) for m in network.modules()) else "deploy"

    def model_info(
        self, form: str, extra: Mapping[str, Any] | None = None, model_kwargs: Mapping[str, Any] | None = None
    ) -> CheckpointInfo:
        """The metadata of a model file of this run's network in ``form`` (``extra``: provenance).

        ``model_kwargs``: the running stage's own description of the network, over the finished stages'.
        """
        entry = self.entry
        kwargs = {**entry.defaults, **dict(self.recipe.model.kwargs), **self.model_kwargs, **dict(model_kwargs or {})}
        if form == "deploy" and "deploy" in kwargs:
            kwargs["deploy"] = True
        return CheckpointInfo(
            model=entry.name, scale=self.recipe.model.scale, kwargs=kwargs, input_range=entry.input_range,
            form=form, provenance={"recipe": self.recipe.name, **dict(extra or {})},
        )

    def sr_model(self, network: nn.Module):
        """``network`` as an :class:`~distillsr.models.sr_model.SRModel` (what evaluation takes)."""
        from distillsr.models.sr_model import SRModel

        entry = self.entry
        return SRModel(network, entry.name, self.recipe.model.scale, entry.input_range, entry.in_channels,
                       min_size=entry.min_size)

    # --- data --------------------------------------------------------------------------------

    def training_set(self, *, lr_patch_size: int | None = None, in_memory: bool = True):
        """The recipe's training patches (a :class:`~distillsr.data.training.PairedTrainingSet`).

        Item ``i`` of epoch ``e`` is a pure function of (seed, e, i): reading items draws from no
        global random generator, so a stage may look at patches without disturbing a resume.
        ``in_memory=False`` decodes images as items are read (to look at a few patches of a large set).
        """
        from distillsr.data.lr_cache import LRCache
        from distillsr.data.training import PairedTrainingSet

        train = self.recipe.data.train
        hr_folders = self._sub_image_folders() if train.sub_images else train.hr_folders
        return PairedTrainingSet(
            hr_folders,
            self.recipe.model.scale,
            degradation=train.degradation,
            lr_folders=train.lr_folders or None,
            lr_patch_size=lr_patch_size or train.lr_patch_size,
            augment=(train.augment.hflip, train.augment.vflip, train.augment.rot90),
            cache=LRCache(train.cache_dir) if train.cache_dir else LRCache(),
            repeat=train.repeat,
            in_memory=in_memory,
            seed=self.recipe.seed,
        )

    def patch_loader(
        self, start_iteration: int = 0, *, lr_patch_size: int | None = None, batch_size: int | None = None
    ) -> tuple[Iterator[dict], Any]:
        """``(batches, sampler)``: an endless stream of this process's share of each batch, from ``start_iteration``.

        ``lr_patch_size``/``batch_size``: a stage's own (None: ``data.train``'s). The sampler's
        ``state_dict`` is what a training state keeps of the data position.
        """
        from distillsr.data.loader import iterate_batches, make_loader

        train = self.recipe.data.train
        batch_size = batch_size or train.batch_size
        if batch_size % self.process.world_size:
            raise DistillsrError(f"batch size {batch_size} does not split evenly over {self.process.world_size} processes")
        loader, sampler = make_loader(
            self.training_set(lr_patch_size=lr_patch_size), batch_size // self.process.world_size,
            num_workers=train.num_workers, seed=self.recipe.seed, rank=self.process.rank,
            world_size=self.process.world_size, start_iteration=start_iteration,
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
            if self.process.is_main:
                extract_subimages(folder, target, crop=settings.crop, step=settings.step, thresh=settings.thresh)
            folders.append(str(target))
        self.barrier()
        return folders

    # --- validation and logs -----------------------------------------------------------------

    def validator(
        self, label: str, total: int, *, keep_best: bool = True, model_kwargs: Mapping[str, Any] | None = None
    ) -> Callable[[nn.Module, int], dict] | None:
        """``validate(network, iteration) -> scores`` on the recipe's sets, or None when validation is off.

        Each check prints one console line (``[label iteration/total] Set5 PSNR .. dB SSIM .. (protocol)``)
        and, when the first set's PSNR is the best so far, writes ``models/best.safetensors``
        (described with ``model_kwargs`` over the finished stages' hyperparameters).
        ``keep_best=False`` only scores: a network that is not the one the run hands on (another
        width of a slimmable network) neither competes for ``best_psnr`` nor writes the file.
        Scores are computed on the main process; every rank waits for it.
        """
        val = self.recipe.data.val
        if not val.folders or not val.every:
            return None
        from distillsr.data.eval_sets import EvalSet
        from distillsr.evaluation.runner import evaluate_set
        from distillsr.imaging.degrade import get_degradation
        from distillsr.metrics.protocols import get_protocol

        protocol = get_protocol(val.protocol)
        scale = self.recipe.model.scale
        degradation = get_degradation(self.recipe.data.train.degradation, scale)  # validate on what is trained
        sets = [EvalSet(folder, scale, degradation) for folder in val.folders]

        def validate(network: nn.Module, iteration: int) -> dict:
            scores: dict = {}
            if self.process.is_main:
                model = self.sr_model(network)
                was_training = network.training
                network.eval()
                parts = []
                for bench in sets:
                    mean = evaluate_set(model, bench, protocol, progress=False).mean
                    scores[f"{bench.name}_psnr_{protocol.name}"] = mean.psnr
                    scores[f"{bench.name}_ssim_{protocol.name}"] = mean.ssim
                    parts.append(f"{bench.name} PSNR {mean.psnr:.2f} dB SSIM {mean.ssim:.4f}")
                network.train(was_training)
                self.logger.info(f"[{label} {iteration}/{total}] {', '.join(parts)} ({protocol.name})")
                first = scores[f"{sets[0].name}_psnr_{protocol.name}"]
                if keep_best and (self.best_psnr is None or first > self.best_psnr):
                    self.best_psnr = first
                    info = self.model_info(self.form_of(network), {"iteration": iteration, "scores": scores}, model_kwargs)
                    save_checkpoint(self.output_dir / "models" / "best.safetensors", network.state_dict(), info)
            self.barrier()
            return scores

        return validate

    def metrics_logger(self, index: int, label: str, total: int) -> Callable[[int, dict], None]:
        """``log(iteration, metrics)``: a row of log.csv, and the losses as a debug line (``-v`` shows it)."""

        def log(iteration: int, metrics: dict) -> None:
            self.log.log(index, iteration, metrics)
            if self.process.is_main and "loss" in metrics:
                self.logger.debug(f"[{label} {iteration}/{total}] {loss_line(metrics)}")

        return log

    # --- training states and model files -----------------------------------------------------

    def state_files(self) -> list[tuple[int, int, Path]]:
        """``(stage, iteration, path)`` of every training state in the output folder, by stage and iteration."""
        return find_states(self.output_dir / "checkpoints")

    @property
    def last_state(self) -> Path | None:
        """The training state this run wrote last (None before its first; always None off the main process)."""
        return self.written_states[-1] if self.written_states else None

    def _keep_newest_states(self, keep: int) -> None:
        """Delete all but the ``keep`` newest states by *write order*, never the one just written.

        States already in the folder (those a resumed run continues, or leftovers of a run it
        branched from) count as older than any this run wrote, in (stage, iteration) order among
        themselves; sorting everything by (stage, iteration) alone would delete a new state
        whose number is lower than a leftover's.
        """
        mine = set(self.written_states)
        earlier = [path for _, _, path in self.state_files() if path not in mine]
        for old in [*earlier, *self.written_states][:-keep]:
            old.unlink(missing_ok=True)
        self.written_states = self.written_states[-keep:]

    def checkpoint_writer(
        self,
        index: int,
        *,
        form: str = "train",
        extra_state: Callable[[], Mapping[str, Any]] | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> Callable[[int, dict], None]:
        """``write(iteration, state)``: a training state of stage ``index`` and ``models/last*.safetensors``.

        ``state`` is what :func:`~distillsr.training.loop.run_loop` hands its checkpoint hook;
        the writer adds the stage index, the best PSNR so far, the records of finished stages and
        ``extra_state()`` (a stage's own resume data: its owned modules, a prune step's widths).
        ``form`` and ``model_kwargs`` (the running stage's hyperparameters): the model files'
        metadata. Keeps the ``checkpoint.keep``
        states written last (0: all); the one just written always stays. Main process only; other
        ranks return at once.
        """
        keep = self.recipe.checkpoint.keep

        def write(iteration: int, state: dict) -> None:
            if not self.process.is_main:
                return
            full = {**state, "stage": index, "best_psnr": self.best_psnr}
            if self.finished:
                full["finished"] = dict(self.finished)
            if extra_state is not None:
                full.update(extra_state())
            path = self.output_dir / "checkpoints" / f"stage{index}_iter{iteration:08d}.pt"
            save_training_state(path, full)
            self.written_states = [*(p for p in self.written_states if p != path), path]
            if keep:
                self._keep_newest_states(keep)
            models = self.output_dir / "models"
            info = self.model_info(form, {"stage": index, "iteration": iteration}, model_kwargs)
            save_checkpoint(models / "last.safetensors", state["model"], info)
            if state.get("ema") is not None:
                save_checkpoint(models / "last_ema.safetensors", state["ema"], info)

        return write

    def save_model(self, name: str, network: nn.Module, extra: Mapping[str, Any] | None = None) -> Path | None:
        """Write ``models/<name>.safetensors`` (main process only; None elsewhere)."""
        if not self.process.is_main:
            return None
        path = self.output_dir / "models" / f"{name}.safetensors"
        save_checkpoint(path, network.state_dict(), self.model_info(self.form_of(network), extra))
        return path

    # --- processes and signals ---------------------------------------------------------------

    def barrier(self) -> None:
        """Wait for every process (no-op for a single one)."""
        distributed.barrier(self.process)

    def stop_requested(self) -> int | None:
        """The signal any rank received, agreed on by all (poll it only between iterations)."""
        return distributed.agreed_signal(self.process, self.stop.requested, self.device)

    def wrap_distributed(self, module: nn.Module) -> nn.Module:
        """``module`` in DistributedDataParallel under torchrun; unchanged in a single process."""
        if not self.process.distributed:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def loop_hooks(
        self,
        index: int,
        label: str,
        total: int,
        *,
        validate: Callable[[nn.Module, int], dict] | None,
        form: str = "train",
        extra_state: Callable[[], Mapping[str, Any]] | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> LoopHooks:
        """The hooks :func:`~distillsr.training.loop.run_loop` needs: logs, validation, states, stop, progress.

        ``validate``: the stage's validation (usually :meth:`validator`; None: none), chosen by the
        stage because a stage may score its network in its own way (every width of a slimmable one).
        """
        return LoopHooks(
            log=self.metrics_logger(index, label, total),
            validate=validate,
            checkpoint=self.checkpoint_writer(index, form=form, extra_state=extra_state, model_kwargs=model_kwargs),
            stop=self.stop_requested,
            progress=self.progress,
        )

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Run a stage's iterations: a signal becomes a request the loop honours between iterations.

        When the loop stops with a saved state, every rank waits here until rank 0 has written it.
        """
        try:
            with self.stop.deferred():
                yield
        except TrainingStopped as stopped:
            if stopped.saved:  # every rank stops at the same iteration: none leaves before rank 0 has saved
                self.barrier()
            raise
