"""TrainStage: modules a stage owns train with the network and resume with it; ``init`` starts a stage once."""

from __future__ import annotations

import torch
from torch import nn

from distillsr.checkpoints.format import read_checkpoint
from distillsr.training.loop import StepRecipe
from distillsr.training.losses import PixelLoss, StepOutputs
from distillsr.training.stages import init_weights
from distillsr.training.stages.train import TrainStage
from distillsr.training.state import find_states, load_training_state


class AdaptedStage(TrainStage):
    """A stage owning a 1x1 adapter on the SR output, as a distillation stage owns feature adapters."""

    def owned_modules(self, context, config, network):
        adapter = nn.Conv2d(3, 3, 1)
        self.initial = {name: tensor.clone() for name, tensor in adapter.state_dict().items()}
        return {"adapter": adapter}

    def forward(self, network, owned, lr):
        sr = network(lr)
        return sr, owned["adapter"](sr)

    def step_recipe(self, context, config, network, owned):
        def step(model, batch):
            sr, adapted = model(batch["lr"])
            return StepOutputs(lr=batch["lr"], hr=batch["hr"], sr=sr + 0.1 * adapted)

        return StepRecipe([PixelLoss("l1")], forward=step)


def _weights(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in module.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _run(session, kind: TrainStage | None = None, resume: dict | None = None, network=None):
    network = network if network is not None else session.build_network()
    kind = kind if kind is not None else TrainStage()
    return kind.run(session.context, 0, session.recipe.stages[0], network, resume)


def test_owned_modules_are_optimised_saved_and_restored_bit_identically(make_session, out_of):
    whole = make_session("whole", iterations=6, ema="null")
    stage = AdaptedStage()
    result = _run(whole, stage)
    states = find_states(out_of("whole") / "checkpoints")
    assert [s[1] for s in states] == [1, 2, 3, 4, 5, 6]
    last = load_training_state(states[-1][2])
    assert set(last["owned"]) == {"adapter"}
    assert not torch.equal(last["owned"]["adapter"]["weight"], stage.initial["weight"]), "the adapter was trained"
    assert len(last["optimizer"]["state"]) == len(list(result.network.parameters())) + 2, "its moments are saved"

    resumed_session = make_session("resumed", iterations=6, ema="null")
    resumed = _run(resumed_session, AdaptedStage(), load_training_state(states[2][2]))
    assert resumed.iterations == 3 and result.iterations == 6
    assert _same(_weights(resumed.network), _weights(result.network))
    again = load_training_state(find_states(out_of("resumed") / "checkpoints")[-1][2])
    assert _same(again["owned"]["adapter"], last["owned"]["adapter"])
    plain = make_session("plain", iterations=2, ema="null")
    _run(plain)
    assert "owned" not in load_training_state(find_states(out_of("plain") / "checkpoints")[-1][2])


def test_init_starts_a_fresh_stage_from_the_file_and_a_resume_from_its_own_state(make_session, out_of, monkeypatch):
    donor = make_session("donor", iterations=2, ema="null")
    start = donor.context.save_model("donor", _run(donor).network)
    assert start is not None

    calls = []
    real = init_weights.load_initial_weights
    monkeypatch.setattr(init_weights, "load_initial_weights", lambda *a, **k: calls.append(a) or real(*a, **k))
    with_init = make_session("init", f"stages.0.init={start}", iterations=4, ema="null")
    by_init = _run(with_init)
    assert len(calls) == 1
    by_hand = make_session("hand", iterations=4, ema="null")
    network = by_hand.build_network()
    network.load_state_dict(read_checkpoint(start)[1])
    assert _same(_weights(_run(by_hand, network=network).network), _weights(by_init.network))

    states = find_states(out_of("init") / "checkpoints")
    resumed = _run(make_session("init-resumed", f"stages.0.init={start}", iterations=4, ema="null"),
                   resume=load_training_state(states[1][2]))
    assert len(calls) == 1, "a resumed stage continues from its own state, never from init"
    assert _same(_weights(resumed.network), _weights(by_init.network))


def test_init_scale_reaches_the_loader(make_session, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(init_weights, "load_initial_weights", lambda *a, **k: seen.append(k))
    start = tmp_path / "x4.safetensors"
    start.write_bytes(b"")  # never read: the loader is replaced
    _run(make_session("scaled", f"stages.0.init={start}", "stages.0.init_scale=4", iterations=2, ema="null"))
    assert [k["scale"] for k in seen] == [4]


class DescribedStage(TrainStage):
    """A stage that describes its network its own way and validates it its own way (as csd does)."""

    def model_kwargs(self, context, config):
        return {"num_blocks": 1, "described_by": "the stage"}

    def validator(self, context, config, label, total, model_kwargs):
        self.validated_with = model_kwargs
        check = context.validator(f"{label} own", total, model_kwargs=model_kwargs)
        return lambda network, iteration: {"own": 1.0, **check(network, iteration)}


def test_a_stage_describes_its_files_and_validates_through_its_hooks(make_session, out_of):
    session = make_session("hooks", iterations=2, ema="null", val_every=2)
    stage = DescribedStage()
    result = _run(session, stage)
    assert stage.validated_with == {"num_blocks": 1, "described_by": "the stage"}
    assert result.model_kwargs == {"num_blocks": 1, "described_by": "the stage"}, "the result carries it on"
    assert result.metrics["own"] == 1.0
    for name in ("best", "last"):  # written during the stage
        info, _ = read_checkpoint(out_of("hooks") / "models" / f"{name}.safetensors")
        assert info.kwargs["described_by"] == "the stage", name
    assert session.context.model_kwargs == {}, "the stage never writes the run's description itself"
    assert _run(make_session("plain-result", iterations=2, ema="null")).model_kwargs is None
