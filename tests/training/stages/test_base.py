"""The StageKind protocol's defaults: nothing to check or replay, no owned modules, their state round-trips."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.training.recipe import TrainStageConfig
from distillsr.training.stages.base import StageKind, StageResult


def test_a_stage_that_only_trains_replays_as_nothing_and_owns_nothing():
    kind = StageKind()
    network = nn.Conv2d(3, 3, 1)
    assert kind.check(None, 0, TrainStageConfig(iterations=1)) is None  # type: ignore[arg-type]
    assert kind.replay(network, TrainStageConfig(iterations=1)) is network
    assert kind.owned_modules(None, TrainStageConfig(iterations=1), network) == {}  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        kind.run(None, 0, TrainStageConfig(iterations=1), network, None)  # type: ignore[arg-type]
    result = StageResult(network)
    assert result.metrics == {} and result.iterations == 0 and result.record is None and result.model_kwargs is None


def test_owned_modules_round_trip_through_a_state_and_a_missing_one_is_named():
    kind = StageKind()
    torch.manual_seed(0)
    owned = {"adapters": nn.Conv2d(4, 8, 1), "head": nn.Linear(2, 2)}
    state = {"owned": kind.owned_state(owned)}
    fresh = {"adapters": nn.Conv2d(4, 8, 1), "head": nn.Linear(2, 2)}
    kind.restore_owned(fresh, state)
    for name in owned:
        for a, b in zip(owned[name].state_dict().values(), fresh[name].state_dict().values(), strict=True):
            assert torch.equal(a, b)
    with pytest.raises(DistillsrError, match="no weights for this stage's adapters, head"):
        kind.restore_owned(fresh, {})
