"""``kind: prune`` in a recipe: the floor, the recipe's degradation, exact widths, and a resume after it re-applies them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main

KWARGS = "{{channels: 12, mid_channels: 12, esa_channels: 8, num_blocks: 2}}"  # doubled: RECIPE is a format string
RECIPE = """
seed: 2
output_dir: {out}
model: {{name: dipnet, scale: 2, kwargs: %s}}
data:
  train: {{hr_folders: [{images}], lr_patch_size: 16, batch_size: 4, num_workers: 0, repeat: 4}}
stages:
  - {{kind: train, iterations: 4, optimizer: {{type: adam, lr: 1.0e-3}}}}
  - kind: prune
    step: 0.25
    widths: {{conv_1: 10, "block_*.c1_r": 8}}
    bicubic_floor: false
    finetune_iterations: 2
    lr_patch_size: 16
    batch_size: 4
  - {{kind: train, iterations: 6, optimizer: {{type: adam, lr: 5.0e-4}}}}
checkpoint: {{every: 2, keep: 0}}
""" % KWARGS


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("hr")
    for index, photo in enumerate((data.astronaut(), data.coffee(), data.chelsea())):
        Image.fromarray(np.ascontiguousarray(photo[60:156, 80:176, :3])).save(folder / f"{index}.png")
    return folder


def _recipe(tmp_path, images, out):
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(RECIPE.format(out=out, images=images))
    return path


def test_the_floor_stops_a_recipe_whose_prune_stage_starts_below_bicubic(tmp_path, images, capsys):
    """A 4-iteration random DIPNet is far below bicubic: with the floor on (the default) the run stops there."""
    text = RECIPE.format(out=tmp_path / "floor", images=images).replace("bicubic_floor: false", "bicubic_floor: true")
    recipe = tmp_path / "floor.yaml"
    recipe.write_text(text)
    assert main(["train", str(recipe)]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "below bicubic's" in line and "the recipe's training patches" in line
    assert not (tmp_path / "floor" / "models" / "final.safetensors").exists()


@pytest.mark.parametrize("degradation", ["BD", "DN"])
def test_the_prune_stage_ranks_and_finetunes_on_the_recipes_degradation(tmp_path, images, monkeypatch, degradation):
    """A BD/DN recipe's prune stage must see BD/DN patches, not BI ones made from the HR folders."""
    import distillsr.compression.pruning.calibration as calibration
    import distillsr.compression.pruning.finetune as finetune

    seen: dict[str, str] = {}
    make_finetuner, from_dataset = finetune.make_finetuner, calibration.CalibrationSet.from_dataset

    def spy_finetuner(settings, scale, device, teacher=None, *, dataset=None):
        seen["finetune"] = dataset.degradation.name if dataset is not None else "BI (HR folders)"
        return make_finetuner(settings, scale, device, teacher, dataset=dataset)

    def spy_calibration(dataset, *args, **kwargs):
        seen["calibration"] = dataset.degradation.name
        return from_dataset(dataset, *args, **kwargs)

    monkeypatch.setattr(finetune, "make_finetuner", spy_finetuner)
    monkeypatch.setattr(calibration.CalibrationSet, "from_dataset", staticmethod(spy_calibration))
    text = RECIPE.format(out=tmp_path / "deg", images=images).replace(
        "lr_patch_size: 16, batch_size: 4", f"degradation: {degradation}, lr_patch_size: 16, batch_size: 4")
    recipe = tmp_path / "deg.yaml"
    recipe.write_text(text)
    assert main(["train", str(recipe), "-q"]) == 0
    assert seen == {"finetune": degradation, "calibration": degradation}


def test_pruning_to_widths_then_training_on_and_a_resume_replays_the_widths(tmp_path, images, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    out = tmp_path / "whole"
    assert main(["train", str(_recipe(tmp_path, images, out)), "-q"]) == 0
    info, tensors = read_checkpoint(out / "models" / "final.safetensors")
    widths = info.kwargs["pruned_widths"]
    assert widths["conv_1"][0] == 10 and widths["block_1.c1_r"][0] == 8 and widths["block_2.c2_r"][1] == 8
    assert tensors["conv_1.weight"].shape[0] == 10

    # resume the last stage from its first state, in a copy of the folder: the prune is replayed, not redone
    again = tmp_path / "again"
    shutil.copytree(out, again)
    states = sorted((again / "checkpoints").glob("stage2_iter*.pt"))
    assert states, "the last stage wrote states"
    (again / "models" / "final.safetensors").unlink()
    recipe = _recipe(tmp_path, images, again)
    assert main(["train", str(recipe), "-q", "--resume", str(states[0])]) == 0
    _, resumed = read_checkpoint(again / "models" / "final.safetensors")
    for name, tensor in tensors.items():
        assert torch.equal(resumed[name], tensor), name
