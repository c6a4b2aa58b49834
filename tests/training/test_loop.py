"""The training loop on a toy network: resume, stop requests, logging, validation, refusals."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.training.ema import WeightAverage
from distillsr.training.interrupt import TrainingStopped
from distillsr.training.loop import (
    LoopHooks,
    LoopSettings,
    NetworkWrapper,
    ScaledInput,
    StepRecipe,
    WithOwnedModules,
    _unwrap,
    bare_network,
    build_optimizer,
    restore_loop_state,
    run_loop,
)
from distillsr.training.losses import PixelLoss
from distillsr.training.schedules import Schedule
from distillsr.training.state import load_training_state, save_training_state

CPU = torch.device("cpu")


class PositionSampler:
    """The data position, as :class:`~distillsr.data.loader.ResumableSampler` keeps it."""

    def __init__(self) -> None:
        self.position = 0

    def state_dict(self) -> dict:
        return {"position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.position = state["position"]


def batches(sampler: PositionSampler):
    """Batch ``i`` is a pure function of ``i``: a resumed stream continues where the sampler stands."""
    while True:
        generator = torch.Generator().manual_seed(1000 + sampler.position)
        lr = torch.rand(2, 3, 6, 6, generator=generator)
        sampler.position += 1
        yield {"lr": lr, "hr": lr.flip(-1)}


@dataclass
class Toy:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    sampler: PositionSampler
    ema: WeightAverage
    events: list = field(default_factory=list)


def toy(seed: int = 0) -> Toy:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Dropout(0.2), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))
    optimizer = build_optimizer("adam", model.parameters(), lr=1e-2)
    return Toy(model, optimizer, PositionSampler(), WeightAverage(model, 0.9))


def settings(iterations: int = 8, **overrides) -> LoopSettings:
    schedule = Schedule("multistep", 1e-2, iterations, milestones=(iterations // 2,))
    values = dict(iterations=iterations, schedule=schedule, print_every=2, ema_decay=0.9)
    values.update(overrides)
    return LoopSettings(**values)


def run(t: Toy, loop: LoopSettings, hooks: LoopHooks, *, start: int = 0, running=None) -> dict:
    return run_loop(t.model, batches(t.sampler), t.sampler, t.optimizer, StepRecipe([PixelLoss("l1")]), loop, hooks,
                    device=CPU, start_iteration=start, ema=t.ema, running=running)


def stop_at(iteration: int, t: Toy, signum: int = signal.SIGINT):
    """A stop poll that asks to stop once ``iteration`` iterations are done (the sampler counts them)."""
    def poll():
        t.events.append(("stop?", t.sampler.position))
        return signum if t.sampler.position >= iteration else None
    return poll


def _parameters(t: Toy) -> dict[str, torch.Tensor]:
    model = {f"model.{k}": v for k, v in t.model.state_dict().items()}
    return {**model, **{f"ema.{k}": v for k, v in t.ema.state_dict().items()}}


def test_a_stopped_loop_resumed_from_its_saved_state_ends_bit_identical(tmp_path):
    whole = toy()
    whole_rows = []
    run(whole, settings(), LoopHooks(log=lambda i, m: whole_rows.append((i, m["loss"], m["lr"]))))

    first = toy()
    rows = []
    saved = []

    def checkpoint(iteration: int, state: dict) -> None:
        path = tmp_path / f"iter{iteration}.pt"
        save_training_state(path, state)  # through the file, as in a real run
        saved.append(path)

    hooks = LoopHooks(
        log=lambda i, m: rows.append((i, m["loss"], m["lr"])), checkpoint=checkpoint, stop=stop_at(3, first)
    )
    with pytest.raises(TrainingStopped) as stopped:
        run(first, settings(), hooks)
    assert (stopped.value.saved, stopped.value.iteration, stopped.value.signum) == (True, 3, signal.SIGINT)
    assert [p.name for p in saved] == ["iter3.pt"]

    torch.rand(100)  # the process that resumes has used its generators differently
    second = toy(seed=99)
    state = load_training_state(saved[0])
    start = restore_loop_state(state, second.model, second.optimizer, second.sampler, second.ema)
    assert start == 3 and second.sampler.position == 3
    hooks = LoopHooks(log=lambda i, m: rows.append((i, m["loss"], m["lr"])))
    run(second, settings(), hooks, start=start, running=state["running"])

    expected, got = _parameters(whole), _parameters(second)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    assert rows == whole_rows, "each iteration logged once, with the same averaged losses"


def test_a_stop_at_a_periodic_checkpoint_saves_once_after_logging_and_validation():
    t = toy()
    validated = []

    def validate(network, iteration):
        t.events.append(("validate", iteration))
        validated.append(network)
        return {"psnr": 1.0}

    hooks = LoopHooks(
        log=lambda i, m: t.events.append(("log", i)),
        validate=validate,
        checkpoint=lambda i, state: t.events.append(("checkpoint", i, state["iteration"])),
        stop=stop_at(4, t),
    )
    with pytest.raises(TrainingStopped):
        run(t, settings(checkpoint_every=2, validate_every=4), hooks)
    assert t.events[-5:] == [("log", 4), ("validate", 4), ("log", 4), ("checkpoint", 4, 4), ("stop?", 4)]
    assert [e for e in t.events if e[0] == "checkpoint"] == [("checkpoint", 2, 2), ("checkpoint", 4, 4)]
    assert validated == [t.ema.shadow], "validation scores the EMA weights"


def test_without_a_checkpoint_hook_a_stop_says_nothing_was_saved():
    t = toy()
    with pytest.raises(TrainingStopped) as stopped:
        run(t, settings(), LoopHooks(stop=stop_at(2, t, signal.SIGTERM)))
    assert (stopped.value.saved, stopped.value.iteration, stopped.value.exit_code) == (False, 2, 143)
    assert t.sampler.position == 2, "no step after the one that completed"


def test_log_rows_average_the_iterations_since_the_last_row():
    t = toy()
    seen = []

    class Recorded(PixelLoss):
        def __call__(self, outputs):
            value = super().__call__(outputs)
            seen.append(float(value.detach()))
            return value

    rows = {}
    run_loop(t.model, batches(t.sampler), t.sampler, t.optimizer, StepRecipe([Recorded("l1")]),
             settings(7, print_every=3), LoopHooks(log=lambda i, m: rows.setdefault(i, m)), device=CPU, ema=t.ema)
    assert sorted(rows) == [3, 6, 7]
    assert rows[6]["loss"] == pytest.approx(sum(seen[3:6]) / 3)
    assert rows[7]["loss"] == pytest.approx(seen[6]) and rows[7]["l1"] == pytest.approx(seen[6])
    assert rows[3]["lr"] == pytest.approx(1e-2) and rows[7]["lr"] == pytest.approx(5e-3)


def test_a_non_finite_loss_stops_with_the_iteration_named():
    t = toy()

    class Broken:
        name, weight = "broken", 1.0

        def __call__(self, outputs):
            return outputs.sr.sum() * float("nan")

    with pytest.raises(DistillsrError, match="the loss became nan at iteration 1"):
        run_loop(t.model, batches(t.sampler), t.sampler, t.optimizer, StepRecipe([Broken()]), settings(),
                 LoopHooks(), device=CPU)


def test_fp16_needs_cuda():
    t = toy()
    with pytest.raises(DistillsrError, match="fp16 AMP needs a CUDA device"):
        run(t, settings(amp="fp16"), LoopHooks())


def test_restoring_without_ema_weights_when_the_recipe_wants_them_is_refused():
    t = toy()
    state = {"model": t.model.state_dict(), "optimizer": t.optimizer.state_dict(), "sampler": {"position": 0},
             "ema": None, "rng": None, "iteration": 0}
    with pytest.raises(DistillsrError, match="no EMA weights"):
        restore_loop_state(state, t.model, t.optimizer, t.sampler, t.ema)


def test_scaled_input_trains_on_the_networks_range_and_unwrap_finds_the_network():
    network = nn.Identity()
    scaled = ScaledInput(network, 255.0)
    x = torch.rand(1, 3, 2, 2)
    seen = []
    network.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    assert torch.allclose(scaled(x), x)
    assert torch.allclose(seen[0], x * 255)

    class Wrapper(nn.Module):  # the shape of DistributedDataParallel: the network as .module
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert _unwrap(Wrapper(scaled)) is network and _unwrap(network) is network


def test_owned_modules_train_inside_the_wrapper_and_unwrap_still_finds_the_network():
    network = nn.Conv2d(3, 3, 1)
    adapter = nn.Conv2d(3, 3, 1)
    plain = WithOwnedModules(network, {"adapter": adapter})
    x = torch.rand(1, 3, 2, 2)
    assert torch.equal(plain(x), network(x))
    both = WithOwnedModules(ScaledInput(network, 255.0), {"adapter": adapter},
                            lambda net, owned, lr: (net(lr), owned["adapter"](lr)))
    sr, adapted = both(x)
    assert torch.allclose(sr, network(x * 255) / 255) and torch.equal(adapted, adapter(x))
    assert {id(p) for p in both.parameters()} == {id(p) for p in (*network.parameters(), *adapter.parameters())}
    assert _unwrap(both) is network and isinstance(both, NetworkWrapper)


def test_build_optimizer():
    parameters = [nn.Parameter(torch.zeros(1))]
    assert isinstance(build_optimizer("adam", parameters, lr=1e-3), torch.optim.Adam)
    adamw = build_optimizer("adamw", parameters, lr=1e-3, weight_decay=0.1, betas=[0.8, 0.9])
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["betas"] == (0.8, 0.9)
    with pytest.raises(DistillsrError, match="unknown optimizer 'sgd'"):
        build_optimizer("sgd", parameters, lr=1e-3)


class _DDP(nn.Module):
    """What the loop sees of DistributedDataParallel: a ``module`` it forwards to."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)


def test_bare_network_unwraps_scaled_input_owned_modules_and_ddp():
    network = nn.Conv2d(3, 3, 1)
    assert bare_network(network) == (network, 1.0)
    assert bare_network(_DDP(ScaledInput(network, 255.0))) == (network, 255.0)
    owned = WithOwnedModules(ScaledInput(network, 255.0), {"adapters": nn.Identity()})
    assert bare_network(_DDP(owned)) == (network, 255.0)
