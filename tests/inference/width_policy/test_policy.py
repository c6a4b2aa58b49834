"""The width policy: CSD's threshold rule, its JSON form, and its place in a checkpoint."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from distillsr.checkpoints.format import read_checkpoint, save_checkpoint
from distillsr.checkpoints.weights_file import read_weights
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.policy import POLICY_KEY, WidthPolicy, policy_of
from distillsr.models.zoo import build_model

POLICY = WidthPolicy((0.25, 0.5, 0.75), (40.0, 30.0, 20.0), calibration={"images": 3})


@pytest.mark.parametrize(
    ("score", "expected"),
    [(math.inf, 0.25), (50.0, 0.25), (40.0, 0.5), (35.0, 0.5), (25.0, 0.75), (20.0, 1.0), (-5.0, 1.0)],
)
def test_first_width_whose_threshold_the_score_exceeds(score, expected):
    assert POLICY.width_for(score) == expected


def test_easier_never_runs_wider():
    scores = [x / 2 for x in range(-10, 120)]
    chosen = [POLICY.width_for(s) for s in scores]
    assert chosen == sorted(chosen, reverse=True)


def test_infinite_threshold_is_null_in_json_and_comes_back():
    policy = WidthPolicy((0.25, 0.5), (math.inf, 31.5))
    data = json.loads(json.dumps(policy.to_dict(), allow_nan=False))  # strict JSON: no Infinity
    assert data["thresholds"] == [None, 31.5]
    assert WidthPolicy.from_dict(data, "x") == policy
    assert policy.width_for(1e300) == 0.5  # nothing beats "never"


@pytest.mark.parametrize(
    ("widths", "thresholds", "message"),
    [
        ((0.5, 0.25), (40.0, 30.0), "sorted narrowest first"),
        ((0.25, 1.0), (40.0, 30.0), "below 1"),
        ((0.25, 0.5), (30.0, 40.0), "must not increase"),
        ((0.25,), (30.0, 20.0), "one threshold per width"),
    ],
)
def test_malformed_policies_are_refused(widths, thresholds, message):
    with pytest.raises(DistillsrError, match=message):
        WidthPolicy(widths, thresholds)


def test_malformed_stored_policy_is_a_clear_error():
    with pytest.raises(DistillsrError, match="f.safetensors: its dynamic-width policy is malformed"):
        WidthPolicy.from_dict({"widths": [0.5]}, "f.safetensors")


def test_policy_round_trips_through_a_checkpoint(tiny_checkpoint, tmp_path):
    info, tensors = read_checkpoint(tiny_checkpoint)
    stored = dataclasses.replace(info, provenance={**info.provenance, POLICY_KEY: POLICY.to_dict()})
    target = tmp_path / "calibrated.safetensors"
    save_checkpoint(target, tensors, stored)
    assert read_weights(target).info.provenance[POLICY_KEY]["thresholds"] == [40.0, 30.0, 20.0]
    loaded = policy_of(load_or_build(None, None, target))
    assert loaded == POLICY and loaded.calibration == {"images": 3}


def test_a_checkpoint_without_thresholds_says_to_calibrate(tiny_checkpoint):
    with pytest.raises(DistillsrError, match="has no dynamic-width thresholds: run distillsr calibrate"):
        policy_of(load_or_build(None, None, tiny_checkpoint))


def test_a_model_without_widths_is_refused():
    with pytest.raises(DistillsrError, match="not a channel-splitting model"):
        policy_of(build_model("bicubic", 2))


def test_a_policy_width_the_model_lacks_is_refused(tiny):
    model = dataclasses.replace(tiny, metadata={"provenance": {POLICY_KEY: WidthPolicy((0.3,), (10.0,)).to_dict()}})
    with pytest.raises(DistillsrError, match=r"width\(s\) \[0.3\] the model does not run at"):
        policy_of(model)
