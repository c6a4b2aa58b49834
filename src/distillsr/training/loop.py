"""The one training loop: a ``train`` stage, iteration by iteration.

Everything a stage kind varies (which loss terms, what the model returns, which extra tensors a
term needs) enters through :class:`StepRecipe`; compression stages (distillation, contrastive
self-distillation, progressive fine-tuning) build a different recipe and reuse :func:`run_loop`.
Resuming restores model, EMA, optimizer, data position and RNG states, so a run killed at any
iteration and resumed ends with bit-identical weights on the CPU. A stop request (Ctrl-C, SIGTERM:
:mod:`distillsr.training.interrupt`) is honoured only between iterations, with a state of the
iteration just completed, so an interrupted run resumes exactly like a killed one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.training.distributed import mean_over_ranks
from distillsr.training.ema import WeightAverage
from distillsr.training.interrupt import TrainingStopped
from distillsr.training.losses import StepOutputs, total_loss
from distillsr.training.schedules import Schedule, apply_lr
from distillsr.training.state import capture_rng, restore_rng


@dataclass
class StepRecipe:
    """How one step turns a batch into loss terms: the part stage kinds customise."""

    terms: list
    forward: Callable[[nn.Module, dict], StepOutputs] | None = None  # default: sr = model(lr)


@dataclass
class LoopSettings:
    iterations: int
    schedule: Schedule
    grad_clip: float | None = None
    ema_decay: float | None = None
    amp: str = "none"  # none | bf16 | fp16
    channels_last: bool = False
    print_every: int = 100
    validate_every: int = 0
    checkpoint_every: int = 0


@dataclass
class LoopHooks:
    """Side effects the session provides: logging, validation, checkpointing, progress."""

    log: Callable[[int, dict], None] = lambda iteration, metrics: None
    validate: Callable[[nn.Module, int], dict] | None = None
    checkpoint: Callable[[int, dict], None] | None = None  # (iteration, state) -> None
    stop: Callable[[], int | None] = lambda: None  # polled after each iteration: a signal number stops
    progress: bool = False
    extra_state: dict = field(default_factory=dict)


def build_optimizer(kind: str, parameters, *, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0, eps: float = 1e-8):
    if kind == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=tuple(betas), weight_decay=weight_decay, eps=eps)
    if kind == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, betas=tuple(betas), weight_decay=weight_decay, eps=eps)
    raise DistillsrError(f"unknown optimizer {kind!r}; choose adam or adamw")


def _default_forward(model: nn.Module, batch: dict) -> StepOutputs:
    return StepOutputs(lr=batch["lr"], hr=batch["hr"], sr=model(batch["lr"]))


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    moved = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if channels_last and value.ndim == 4:
                value = value.contiguous(memory_format=torch.channels_last)
        moved[key] = value
    return moved


class NetworkWrapper(nn.Module):
    """A module the loop trains through whose ``network`` is the model being trained.

    Checkpoints, EMA and validation see only ``network`` (:func:`bare_network` peels the wrappers), so
    model files load into the bare zoo model whatever a stage wrapped it in.
    """

    network: nn.Module


class ScaledInput(NetworkWrapper):
    """Trains a network on its own value range (E-RFDN and EDSR use 0-255) from [0, 1] batches.

    The loop, the losses and validation all see [0, 1] images, as everywhere in distillsr; the
    saved weights are the wrapped network's, so checkpoints load into the bare zoo model.
    """

    def __init__(self, network: nn.Module, value_range: float) -> None:
        super().__init__()
        self.network = network
        self.value_range = value_range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from distillsr.models.sr_model import unit_range_call

        return unit_range_call(self.network, x, self.value_range)


class WithOwnedModules(NetworkWrapper):
    """The network and the modules a stage trains beside it (a distillation's adapters), as one module.

    One module, so that the optimizer, gradient clipping and DistributedDataParallel (which must
    see every trained parameter used in its forward) cover both. ``forward(network, owned, x)``
    computes a step's outputs from both inside this module's forward; the default runs the network.
    """

    def __init__(
        self,
        network: nn.Module,
        owned: dict[str, nn.Module],
        forward: Callable[[nn.Module, nn.ModuleDict, torch.Tensor], object] | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.owned = nn.ModuleDict(owned)
        self._compute = forward

    def forward(self, x: torch.Tensor):
        if self._compute is None:
            return self.network(x)
        return self._compute(self.network, self.owned, x)


def bare_network(model: nn.Module) -> tuple[nn.Module, float]:
    """The network inside DistributedDataParallel and :class:`NetworkWrapper` wrappers, and the factor
    its inputs were scaled by (a :class:`ScaledInput`'s value range; 1 without one).

    The one unwrapping rule: the loop saves, averages and validates the network it returns, and a
    stage that hooks the network (distillation's feature capture) hooks the same one.
    """
    value_range = 1.0
    while True:
        if isinstance(model, NetworkWrapper):
            value_range *= float(getattr(model, "value_range", 1.0))
            model = model.network
        elif isinstance(getattr(model, "module", None), nn.Module):  # DistributedDataParallel
            model = model.module
        else:
            return model, value_range


def _unwrap(model: nn.Module) -> nn.Module:
    """The bare network of :func:`bare_network`, without its input scale."""
    return bare_network(model)[0]


def _backward_and_step(loss: torch.Tensor, model: nn.Module, optimizer, scaler, grad_clip: float | None) -> None:
    """One optimizer update from ``loss`` (with fp16 loss scaling when ``scaler`` is given)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()


def _loop_state(done: int, model: nn.Module, ema: WeightAverage | None, optimizer, sampler, running: dict) -> dict:
    """What :func:`restore_loop_state` needs to continue after iteration ``done`` as if never stopped."""
    return {
        "model": _unwrap(model).state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "ema_updates": ema.updates if ema is not None else None,
        "optimizer": optimizer.state_dict(),
        "sampler": sampler.state_dict(),
        "rng": capture_rng(),
        "iteration": done,
        "running": dict(running),
    }


def run_loop(
    model: nn.Module,
    batches,
    sampler,
    optimizer: torch.optim.Optimizer,
    recipe: StepRecipe,
    settings: LoopSettings,
    hooks: LoopHooks,
    *,
    device: torch.device,
    start_iteration: int = 0,
    ema: WeightAverage | None = None,
    running: dict[str, float] | None = None,
) -> dict:
    """Train from ``start_iteration`` to ``settings.iterations``; returns the final metrics."""
    from distillsr.console import progress_bar

    forward = recipe.forward or _default_forward
    scaler = torch.amp.GradScaler(device.type) if settings.amp == "fp16" and device.type == "cuda" else None
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(settings.amp)
    if autocast_dtype is not None and device.type != "cuda" and settings.amp == "fp16":
        raise DistillsrError("fp16 AMP needs a CUDA device; use bf16 or none on the CPU")
    model.train()
    metrics: dict = {}
    started = time.perf_counter()
    bar = progress_bar(
        enabled=hooks.progress, total=settings.iterations, initial=start_iteration, unit="it",
        dynamic_ncols=True, leave=False,
    )
    running = dict(running or {})  # sums since the last log line (restored on resume)

    try:
        for iteration in range(start_iteration, settings.iterations):
            lr = settings.schedule.lr(iteration)
            apply_lr(optimizer, lr)
            batch = _to_device(next(batches), device, settings.channels_last)
            with torch.autocast(device_type=device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                outputs = forward(model, batch)
                loss, parts = total_loss(recipe.terms, outputs)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise DistillsrError(
                    f"the loss became {loss_value} at iteration {iteration + 1}; lower the learning rate"
                )
            _backward_and_step(loss, model, optimizer, scaler, settings.grad_clip)
            if ema is not None:
                ema.update(_unwrap(model))
            done = iteration + 1
            for key, value in {"loss": loss_value, **parts}.items():
                running[key] = running.get(key, 0.0) + value
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", refresh=False)
            if done % settings.print_every == 0 or done == settings.iterations:
                count = settings.print_every if done % settings.print_every == 0 else done % settings.print_every
                metrics = mean_over_ranks({key: value / max(count, 1) for key, value in running.items()}, device)
                metrics.update(lr=lr, seconds=time.perf_counter() - started)
                running = {}
                hooks.log(done, metrics)
            if hooks.validate is not None and settings.validate_every and (
                done % settings.validate_every == 0 or done == settings.iterations
            ):
                scores = hooks.validate(ema.shadow if ema is not None else _unwrap(model), done)
                model.train()
                hooks.log(done, scores)
                metrics.update(scores)
            saved = False
            if hooks.checkpoint is not None and (
                (settings.checkpoint_every and done % settings.checkpoint_every == 0) or done == settings.iterations
            ):
                hooks.checkpoint(done, _loop_state(done, model, ema, optimizer, sampler, running))
                saved = True
            signum = hooks.stop()
            if signum is not None:  # the step is complete: this is the one place a stop is safe
                if hooks.checkpoint is not None and not saved:
                    hooks.checkpoint(done, _loop_state(done, model, ema, optimizer, sampler, running))
                raise TrainingStopped(signum, saved=hooks.checkpoint is not None, iteration=done)
    finally:
        bar.close()
    return metrics


def restore_loop_state(state: dict, model: nn.Module, optimizer, sampler, ema: WeightAverage | None) -> int:
    """Load a checkpoint written by :func:`run_loop`; returns the iteration to continue from."""
    _unwrap(model).load_state_dict(state["model"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    sampler.load_state_dict(state["sampler"])
    if ema is not None:
        if state.get("ema") is None:
            raise DistillsrError("the checkpoint has no EMA weights but the recipe asks for ema_decay")
        ema.resume(state["ema"], state.get("ema_updates"))
    restore_rng(state["rng"])
    return int(state["iteration"])
