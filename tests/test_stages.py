"""The one stage table: what it lists, and that a new kind needs one row and nothing else.

The import boundary (the engine imports no stage kind, no kind imports the table) is one case of
the layer order that ``tests/test_layers.py`` checks over the whole package.

The toy kind below is a plug-in written the way a compression technique would write one — options
that name their runner, a :class:`StageKind` with a pre-run check — and it reaches ``distillsr
train`` through a single monkeypatched row of :data:`distillsr.stages.STAGES`.
"""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

import distillsr.stages
from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.config.errors import ConfigError
from distillsr.config.schema import doc
from distillsr.errors import DistillsrError
from distillsr.training.recipe import StageConfig
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.stages.runner import stage_runner


# --- the table -------------------------------------------------------------------------------


def test_the_table_lists_every_kind_once_train_first():
    assert list(distillsr.stages.stage_kinds()) == ["train", "reparameterize", "distill", "prune", "csd", "pro-csd"]
    assert set(distillsr.stages.LOSS_TYPES) == {"l1", "l2", "charbonnier", "teacher", "features"}
    assert distillsr.stages.recipe_kinds().union_for(StageConfig).default == "train"


def test_every_row_names_a_runner_that_is_a_stage_kind():
    for kind, config in distillsr.stages.stage_kinds().items():
        assert isinstance(stage_runner(config), StageKind), kind


def test_importing_the_table_imports_no_torch():
    """Every stage config is torch-free, so ``train --help`` and the recipe reader stay light."""
    code = "import sys, distillsr.stages; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


# --- a new stage kind: one row ----------------------------------------------------------------


class ToyStage(StageKind):
    """Sets every weight of the network to the stage's ``value`` and logs it: easy to see in the result."""

    def check(self, context, index: int, config: ToyStageConfig) -> None:
        if config.value < 0:
            raise ConfigError(f"stages.{index}.value", "the toy refuses negative values before the run")

    def run(self, context, index: int, config: ToyStageConfig, network, resume) -> StageResult:
        with torch.no_grad():
            for parameter in network.parameters():
                parameter.fill_(config.value)
        context.log.log(index, 0, {"toy_value": config.value})
        return StageResult(network, {"toy_value": config.value}, model_kwargs={"toyed": True})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToyStageConfig(StageConfig):
    """A stage kind that lives in this test module only."""

    kind: ClassVar[str] = "toy"
    runner: ClassVar[type] = ToyStage

    value: float = dataclasses.field(default=0.25, metadata=doc("what every weight becomes"))


TOY_RECIPE = """
seed: 1
output_dir: {out}
model: {{name: dipnet, scale: 2, kwargs: {{channels: 12, mid_channels: 12, esa_channels: 8, num_blocks: 1}}}}
data:
  train: {{hr_folders: [{images}], lr_patch_size: 16, batch_size: 2, num_workers: 0, repeat: 2}}
stages:
  - {{kind: train, iterations: 2, optimizer: {{type: adam, lr: 1.0e-3}}}}
  - {{kind: toy, value: {value}}}
checkpoint: {{every: 0, keep: 0}}
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Three 96 px crops of scikit-image's photos."""
    from skimage import data

    folder = tmp_path_factory.mktemp("hr")
    for index, photo in enumerate((data.astronaut(), data.coffee(), data.chelsea())):
        Image.fromarray(np.ascontiguousarray(photo[60:156, 80:176, :3])).save(folder / f"{index}.png")
    return folder


@pytest.fixture
def toy_row(monkeypatch):
    """The one change a new kind needs: its row in the table."""
    monkeypatch.setattr(distillsr.stages, "STAGES", (*distillsr.stages.STAGES, ToyStageConfig))


def _recipe(tmp_path: Path, images: Path, value: float) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY_RECIPE.format(out=tmp_path / "out", images=images, value=value))
    return path


def test_without_its_row_the_kind_is_unknown(tmp_path, images, capsys):
    assert main(["train", str(_recipe(tmp_path, images, 0.25)), "-q", "--device", "cpu"]) == 1
    assert "stages.1.kind" in capsys.readouterr().err


def test_a_kind_added_by_one_row_runs_through_distillsr_train(toy_row, tmp_path, images):
    recipe = _recipe(tmp_path, images, 0.25)
    assert main(["train", str(recipe), "-q", "--device", "cpu"]) == 0
    info, tensors = read_checkpoint(tmp_path / "out" / "models" / "final.safetensors")
    assert all(torch.all(tensor == 0.25) for tensor in tensors.values()), "the toy stage set every weight"
    assert info.kwargs["toyed"] is True, "its StageResult.model_kwargs describe the later model files"
    with open(tmp_path / "out" / "log.csv", newline="") as stream:
        assert [float(row["toy_value"]) for row in csv.DictReader(stream) if row.get("toy_value")] == [0.25]
    printed = (tmp_path / "out" / "recipe.yaml").read_text()
    assert "kind: toy" in printed and "value: 0.25" in printed
    assert any(row.path == "stages[kind=toy].value" for row in distillsr.stages.field_reference())


def test_its_pre_run_check_stops_the_run_before_any_stage(toy_row, tmp_path, images, capsys):
    recipe = _recipe(tmp_path, images, -1)
    assert main(["train", str(recipe), "-q", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err == f"distillsr: error: {recipe}: stages.1.value: the toy refuses negative values before the run\n"
    assert not (tmp_path / "out").exists(), "the train stage before it never ran"


def test_a_table_with_two_rows_of_one_kind_is_refused(monkeypatch):
    monkeypatch.setattr(distillsr.stages, "STAGES", (*distillsr.stages.STAGES, distillsr.stages.STAGES[0]))
    with pytest.raises(DistillsrError, match="stage kind 'train' is listed twice"):
        distillsr.stages.parse_recipe("model: {name: rfdn, scale: 2}\ndata: {train: {hr_folders: [hr]}}\n"
                                      "stages: [{iterations: 1}]\n")
