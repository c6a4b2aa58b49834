"""``kind: reparameterize``: folds, checks the fold on training patches, and replays on resume."""

from __future__ import annotations

import logging

import pytest
import torch

from distillsr.errors import DistillsrError
from distillsr.nn.reparam import is_deployed
from distillsr.nn.rrrb import RRRB
from distillsr.training.recipe import ReparameterizeStageConfig
from distillsr.training.stages.reparameterize import ReparameterizeStage

FOLD = "  - kind: reparameterize"


def _break_every_fold(monkeypatch, amount: float = 0.02) -> None:
    real = RRRB.fold

    def fold(self):
        conv = real(self)
        with torch.no_grad():
            conv.weight[:, :, 1, 1] -= amount * torch.eye(self.channels)  # the identity branch half-forgotten
        return conv

    monkeypatch.setattr(RRRB, "fold", fold)


def test_a_correct_fold_hands_on_the_deploy_network_and_says_how_close_it_was(make_session, caplog):
    session = make_session(folding=True)
    network = session.build_network()
    with caplog.at_level(logging.INFO, logger="distillsr"):
        result = ReparameterizeStage().run(session.context, 1, ReparameterizeStageConfig(), network, None)
    assert is_deployed(result.network) and result.network.training and result.iterations == 0
    assert result.metrics["fold_max_difference"] < 1e-6 and result.record is None
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("[stage1-reparameterize] folded: outputs agree to ") and line.endswith(" on 4 training patches")


def test_a_broken_fold_stops_the_run_with_the_difference_and_the_block(make_session, out_of, monkeypatch):
    session = make_session("broken", folding=True, iterations=2, ema="null", extra_stages=FOLD)
    _break_every_fold(monkeypatch)
    with pytest.raises(DistillsrError) as caught:
        session.run()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("stage 1 (stage1-reparameterize): the folded network differs from the trained one by up to ")
    difference = float(message.split("by up to ")[1].split()[0])
    assert difference > 1e-4 and "(limit 0.0001)" in message and "on 4 training patches" in message
    assert "the block whose fold differs most is block_1.c" in message and "(RRRB, " in message
    assert not (out_of("broken") / "models" / "final.safetensors").exists()


def test_replay_folds_without_checking(make_session, monkeypatch):
    session = make_session(folding=True)
    _break_every_fold(monkeypatch)  # a replay re-applies a fold that was checked when it first ran
    folded = ReparameterizeStage().replay(session.build_network(), ReparameterizeStageConfig())
    assert is_deployed(folded) and folded.training


def test_the_check_uses_the_patches_the_network_last_trained_on(make_session):
    from distillsr.training.stages.reparameterize import _check_patch_size

    later = "  - kind: train\n    iterations: 1\n    lr_patch_size: 20\n" + FOLD
    assert _check_patch_size(make_session(folding=True, extra_stages=FOLD).context, 1) == 16
    assert _check_patch_size(make_session(folding=True, extra_stages=later).context, 2) == 20
