"""``kind: distill`` through the engine: its options name it, losses fall, the adapters stay out of model files,
and a wrong anchor stops the run before any training."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image
from support.training import training_env

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.stages import parse_recipe
from distillsr.training.stages.runner import stage_runner

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


def test_the_options_name_the_distill_stage_as_their_runner():
    from distillsr.compression.distill.config import DistillStageConfig
    from distillsr.compression.distill.stage import DistillStage

    assert isinstance(stage_runner(DistillStageConfig), DistillStage)


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


def test_an_unknown_anchor_is_refused_before_any_training(tmp_path, images, tiny_teacher_file, capsys):
    """The recipe loads (no weights are read then); the distill stage's pre-run hook refuses it before the train
    stage ahead of it starts, and before anything is made."""
    recipe = _recipe(tmp_path, images, tiny_teacher_file)
    recipe.write_text(recipe.read_text().replace("student: block_2", "student: block_9").replace(
        "stages:\n  - kind: distill", "stages:\n  - {kind: train, iterations: 5}\n  - kind: distill"))
    parse_recipe(recipe.read_text())
    assert main(["train", str(recipe), "-q", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, "one line"
    assert err.startswith(f"distillsr: error: {recipe}: stages.1.anchors.1.student: unknown student anchor 'block_9' "
                          "in the student dipnet x4")
    assert "valid anchors, closest first: block_1, block_2" in err  # the valid names are listed
    assert not (tmp_path / "out").exists(), "nothing trained, nothing written"
