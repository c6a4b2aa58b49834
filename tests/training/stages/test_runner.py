"""Options name their runner: a ``"module:Class"`` path imported on demand, or the class itself; bad ones are one line."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import ClassVar

import pytest

from distillsr.errors import DistillsrError
from distillsr.training.recipe import ReparameterizeStageConfig, StageConfig, TrainStageConfig
from distillsr.training.stages.base import StageKind
from distillsr.training.stages.reparameterize import ReparameterizeStage
from distillsr.training.stages.runner import stage_runner
from distillsr.training.stages.train import TrainStage


class Idle(StageKind):
    """A runner defined beside its options (as a plug-in in a test module is)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdleConfig(StageConfig):
    kind: ClassVar[str] = "idle"
    runner: ClassVar[type] = Idle


def test_the_engine_kinds_name_their_runners_by_path():
    assert type(stage_runner(TrainStageConfig(iterations=1))) is TrainStage
    assert type(stage_runner(ReparameterizeStageConfig)) is ReparameterizeStage
    assert stage_runner(TrainStageConfig) is not stage_runner(TrainStageConfig), "a fresh runner per stage"


def test_a_runner_may_be_the_class_itself_and_a_subclass_runs_like_its_parent():
    assert type(stage_runner(IdleConfig())) is Idle

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Warm(TrainStageConfig):
        pass

    assert type(stage_runner(Warm(iterations=1))) is TrainStage


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        ("", "stage kind 'broken' (Broken) names no runner"),
        ("distillsr.training.stages.train", "names no runner"),
        ("distillsr.no_such_module:Stage", "cannot import its runner distillsr.no_such_module:Stage"),
        ("distillsr.training.stages.train:NoSuchStage", "cannot import its runner"),
        ("distillsr.training.recipe:TrainStageConfig", "is not a StageKind subclass"),
        (dict, "is not a StageKind subclass"),
    ],
)
def test_a_bad_runner_is_one_line_naming_the_kind(runner, message):
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Broken(StageConfig):
        kind: ClassVar[str] = "broken"

    Broken.runner = runner
    with pytest.raises(DistillsrError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        stage_runner(Broken())
    assert "\n" not in str(error.value)


def test_the_engine_stage_modules_load_without_compression_or_torch():
    """Resolving a runner is the only import of a stage kind; the resolver itself imports neither."""
    code = ("import sys, distillsr.training.stages.runner, distillsr.training.recipe; "
            "print('torch' in sys.modules, any(m.startswith('distillsr.compression') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
