"""``kind: distill`` through the engine: the stage table runs it, losses fall, the adapters stay out of model files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image
from support.training import training_env

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.config.errors import ConfigError
from distillsr.training.recipe import parse_recipe
from distillsr.training.stages.table import stage_kind

RECIPE = """
name: tiny-distill
seed: 1
output_dir: {out}
model: {{name: dipnet, scale: 4, kwargs: {{channels: 8, mid_channels: 8, esa_channels: 8, num_blocks: 2}}}}
data:
  train: {{hr_folders: [{images}], lr_patch_size: 16, batch_size: 4, num_workers: 0, repeat: 4}}
stages:
  - kind: distill
    iterations: {iterations}
    teacher: {{weights: {teacher}}}
    anchors:
      - {{student: block_1, teacher: block_1, weight: 1.0}}
      - {{student: block_2, teacher: block_2, weight: 0.5}}
    losses: [{{type: l1, weight: 0.5}}, {{type: teacher}}, {{type: features, weight: 0.1}}]
    optimizer: {{type: adam, lr: 2.0e-3}}
logging: {{print_every: 5}}
checkpoint: {{every: 10, keep: 0}}
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory, photos):
    """Six 96x96 real-photo crops as files: x4 patches of 16 px need 64 px of HR."""
    folder = tmp_path_factory.mktemp("hr")
    for index, crop in enumerate(photos):
        Image.fromarray((crop.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(folder / f"{index}.png")
    return folder


def _recipe(tmp_path, images, teacher, iterations=40):
    path = tmp_path / "distill.yaml"
    path.write_text(RECIPE.format(out=tmp_path / "out", images=images, teacher=teacher, iterations=iterations))
    return path


def test_the_table_runs_distill_with_its_own_class():
    from distillsr.compression.distill.stage import DistillStage

    assert isinstance(stage_kind("distill"), DistillStage)


def test_a_distill_run_lowers_its_losses_and_keeps_adapters_out_of_model_files(
    tmp_path, images, tiny_teacher_file, monkeypatch
):
    for key, value in training_env().items():
        monkeypatch.setenv(key, value)
    recipe = _recipe(tmp_path, images, tiny_teacher_file)
    assert main(["train", str(recipe), "-q"]) == 0
    with open(tmp_path / "out" / "log.csv", newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("teacher_l1")]
    first, last = rows[0], rows[-1]
    assert float(last["teacher_l1"]) < float(first["teacher_l1"])
    assert float(last["features"]) < float(first["features"])
    info, tensors = read_checkpoint(tmp_path / "out" / "models" / "final.safetensors")
    assert info.model == "dipnet" and not [name for name in tensors if "adapter" in name]


def test_an_unknown_anchor_is_refused_when_the_recipe_loads(tmp_path, images, tiny_teacher_file):
    text = _recipe(tmp_path, images, tiny_teacher_file).read_text().replace("student: block_2", "student: block_9")
    with pytest.raises(ConfigError) as error:
        parse_recipe(text)
    assert error.value.path == "stages.0.anchors.1.student"
    assert error.value.reason.startswith("unknown student anchor 'block_9' in the student dipnet x4")
    assert "valid anchors, closest first: block_1, block_2" in error.value.reason  # the valid names are listed
