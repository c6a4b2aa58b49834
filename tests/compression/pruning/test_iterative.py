"""The prune / fine-tune loop: lands on parameter and MAC targets, keeps the last model within a PSNR drop."""

from __future__ import annotations

import pytest

from distillsr.compression.pruning.groups import find_groups, prunable_groups
from distillsr.compression.pruning.iterative import PruneTarget, prune_iteratively
from distillsr.efficiency import count_ops, count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


def _small():
    return build_model("e-rfdn", 4, channels=24, num_blocks=2)


def test_target_macs_is_met_within_two_percent_and_the_input_is_untouched():
    model = _small()
    before = count_ops(model.network).macs
    target = before * 0.55 / 1e9
    calls, seen = [], []
    result = prune_iteratively(
        model, 0.2, PruneTarget(macs=target), finetune=lambda m, step: calls.append(step), on_step=seen.append
    )
    final = count_ops(result.model.network).macs / 1e9
    assert target * 0.98 <= final <= target
    assert result.steps[-1].macs / 1e9 == pytest.approx(final) and result.kept == len(result.steps) - 1
    assert calls == list(range(1, len(result.steps))) and len(calls) >= 2  # psi after every step
    assert seen == result.steps and seen[0].index == 0 and seen[0].macs == before
    assert 0 < result.steps[-1].fraction <= 0.2 and result.stopped == "target reached"
    assert count_ops(model.network).macs == before  # pruning worked on a copy
    widths = {g.name: g.width for g in prunable_groups(find_groups(result.model.network))}
    assert widths == result.steps[-1].widths and widths["fea_conv"] < 24


def test_target_params_is_landed_on():
    result = prune_iteratively(_small(), 0.1, PruneTarget(params=45_000))
    params = count_parameters(result.model.network).total
    assert 44_100 <= params <= 45_000 and params == result.steps[-1].params


def test_max_drop_keeps_the_last_model_within_the_drop():
    scores = iter([30.0, 29.9, 29.7, 28.0, 27.0])
    result = prune_iteratively(_small(), 0.1, PruneTarget(max_drop=0.5), validate=lambda model: next(scores))
    assert [step.psnr for step in result.steps] == [30.0, 29.9, 29.7, 28.0]
    assert result.kept == 2 and "dropped 2.000 dB" in result.stopped
    assert count_parameters(result.model.network).total == result.steps[2].params
    kept = {g.name: g.width for g in prunable_groups(find_groups(result.model.network))}
    assert kept == result.steps[2].widths


def test_an_unreachable_target_is_an_error_and_arguments_are_checked():
    tiny = build_model("dipnet", 2, channels=4, mid_channels=4, esa_channels=2, num_blocks=1)
    with pytest.raises(DistillsrError, match="cannot prune down to 100 params: every prunable group is down to one channel"):
        prune_iteratively(tiny, 0.5, PruneTarget(params=100))
    with pytest.raises(DistillsrError, match="fraction in"):
        prune_iteratively(tiny, 1.0, PruneTarget(params=500))
    with pytest.raises(DistillsrError, match="needs a validation set"):
        prune_iteratively(tiny, 0.5, PruneTarget(max_drop=0.1))
    with pytest.raises(DistillsrError, match="needs params, macs or max_drop"):
        PruneTarget()
    slimmable = build_model("carn", 2, channels=16)  # CSD convs run at a width: never sliced
    with pytest.raises(DistillsrError, match="carn has no prunable channel group"):
        prune_iteratively(slimmable, 0.5, PruneTarget(params=1000))
    already = prune_iteratively(tiny, 0.5, PruneTarget(params=10**9))
    assert already.kept == 0 and already.stopped == "the model already meets the target"


def test_a_target_finer_than_one_channel_lands_below_with_a_warning(caplog):
    """In a 16-channel model one trunk channel is several percent of the MACs: say so, do not pretend."""
    model = build_model("rfdn", 2, channels=16, num_blocks=2)
    target = count_ops(model.network).macs * 0.4 / 1e9
    with caplog.at_level("WARNING"):
        result = prune_iteratively(model, 0.25, PruneTarget(macs=target))
    final = result.steps[-1].macs / 1e9
    assert target * 0.8 < final < target * 0.98
    assert f"landed {1 - final / target:.1%} below the target" in caplog.text
