"""``kind: csd`` and ``kind: pro-csd`` through the engine: both widths learn, every width is validated, resume is exact."""

from __future__ import annotations

import csv
import sys
import math
from pathlib import Path

import pytest
import torch

from distillsr.checkpoints.format import read_checkpoint
from distillsr.compression.contrastive.stage import CSDStage, ProCSDStage
from distillsr.stages import load_recipe, stage_kinds
from distillsr.training.stages.runner import stage_runner
from distillsr.training.state import find_states
from distillsr.training.trainer import TrainingSession

TINY_EDSR = "{num_blocks: 2, channels: 16}"  # x2: 16 features, so width 0.25 is the first 4

RECIPE = """
name: tiny-{kind}
seed: 2
output_dir: {out}
model: {{name: edsr-baseline, scale: 2, kwargs: {model}}}
data:
  train: {{hr_folders: [{images}], lr_patch_size: 12, batch_size: 4, num_workers: 0, repeat: 4}}
  val: {{folders: [{images}], every: {val_every}}}
stages:
  - kind: {kind}
    iterations: {iterations}
    vgg_weights: {vgg}
    negatives: {negatives}
    optimizer: {{type: adam, lr: 1.0e-3}}
    ema_decay: {ema}
logging: {{print_every: 1}}
checkpoint: {{every: 1, keep: 0}}
"""


def _session(tmp_path: Path, images: Path, name: str, *overrides: str, kind: str = "csd", iterations: int = 6,
             vgg: str = "random", negatives: str = "others", ema: str = "null", val_every: int = 0,
             resume: Path | None = None) -> TrainingSession:
    path = tmp_path / f"{name}.yaml"
    path.write_text(RECIPE.format(kind=kind, out=tmp_path / name, model=TINY_EDSR, images=images, iterations=iterations,
                                  vgg=vgg, negatives=negatives, ema=ema, val_every=val_every))
    return TrainingSession(load_recipe(path, overrides), device="cpu", progress=False,
                           resume=str(resume) if resume else None)


def _rows(folder: Path) -> list[dict]:
    with open(folder / "log.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def _final(folder: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(folder / "models" / "final.safetensors")[1]


def test_the_options_name_both_kinds_with_their_own_classes():
    assert type(stage_runner(stage_kinds()["csd"])) is CSDStage
    assert type(stage_runner(stage_kinds()["pro-csd"])) is ProCSDStage


def test_csd_trains_the_student_and_the_teacher_part_of_the_shared_weights(tmp_path, images):
    session = _session(tmp_path, images, "csd", iterations=4)
    initial = {name: t.clone() for name, t in session.build_network().state_dict().items()}
    session.run()
    rows = [row for row in _rows(tmp_path / "csd") if row.get("loss")]
    assert len(rows) == 4
    for row in rows:
        assert all(math.isfinite(float(row[key])) for key in ("loss", "l1", "l1_w1", "contrastive"))
        expected = float(row["l1"]) + float(row["l1_w1"]) + 200 / 255 * float(row["contrastive"])
        assert float(row["loss"]) == pytest.approx(expected, rel=1e-5)  # L1(S) + lambda_T L1(T) + lambda/255 CL
    final = _final(tmp_path / "csd")
    conv = "body.0.conv1.weight"
    student = (slice(0, 4), slice(0, 4))  # the slice width 0.25 runs with
    assert not torch.equal(final[conv][student], initial[conv][student]), "the student's weights changed"
    assert not torch.equal(final[conv][4:, 4:], initial[conv][4:, 4:]), "the teacher-only weights changed"


def test_pro_csd_reconstructs_every_branch(tmp_path, images):
    _session(tmp_path, images, "pro", kind="pro-csd", iterations=3).run()
    row = [row for row in _rows(tmp_path / "pro") if row.get("loss")][-1]
    terms = ("l1", "l1_w1", "l1_w0.75", "l1_w0.5", "contrastive")
    assert all(math.isfinite(float(row[key])) for key in terms)
    expected = sum(float(row[key]) for key in terms[:-1]) + 200 / 255 * float(row["contrastive"])
    assert float(row["loss"]) == pytest.approx(expected, rel=1e-5)


def test_the_positive_is_the_narrowest_teacher_and_it_is_detached(tmp_path, images):
    session = _session(tmp_path, images, "step", kind="pro-csd")
    stage, config = ProCSDStage(), session.recipe.stages[0]
    network = session.build_network()
    owned = stage.owned_modules(session.context, config, network)
    recipe = stage.step_recipe(session.context, config, network, owned)
    from distillsr.training.loop import ScaledInput, WithOwnedModules

    model = WithOwnedModules(ScaledInput(network, 255.0), owned, stage.forward)
    outputs = recipe.forward(model, {"lr": torch.rand(2, 3, 12, 12), "hr": torch.rand(2, 3, 24, 24)})
    branches = outputs.extras["branches"]
    assert list(branches) == [0.25, 1.0, 0.75, 0.5]
    assert torch.equal(outputs.extras["positive"], branches[0.5]) and not outputs.extras["positive"].requires_grad
    assert torch.equal(outputs.sr, branches[0.25]) and outputs.sr.requires_grad
    assert network.width == 0.25, "between steps the network rests at the student width"
    assert [term.name for term in recipe.terms] == ["l1", "l1_w1", "l1_w0.75", "l1_w0.5", "contrastive"]


def test_validation_scores_every_width_and_best_is_the_students(tmp_path, images):
    session = _session(tmp_path, images, "val", iterations=2, val_every=2, ema="0.9")
    summary = session.run()
    scores = [row for row in _rows(tmp_path / "val") if row.get(f"{images.name}_psnr_classic")][-1]
    student, teacher = float(scores[f"{images.name}_psnr_classic"]), float(scores[f"{images.name}_psnr_classic_w1"])
    assert student != teacher
    assert summary.best_psnr == pytest.approx(student), "best.safetensors follows the student width only"
    assert read_checkpoint(tmp_path / "val" / "models" / "best.safetensors")[0].model == "edsr-baseline"


def test_without_the_contrastive_term_no_vgg_is_needed(tmp_path, images, monkeypatch):
    from distillsr.compression.contrastive import vgg_weights

    monkeypatch.setattr(vgg_weights, "vgg19_features", lambda *a, **k: pytest.fail("VGG loaded for lambda = 0"))
    _session(tmp_path, images, "plain", "stages.0.contrastive_weight=0", vgg="null", iterations=2).run()
    row = [row for row in _rows(tmp_path / "plain") if row.get("loss")][-1]
    assert "contrastive" not in row and float(row["loss"]) == pytest.approx(float(row["l1"]) + float(row["l1_w1"]), rel=1e-6)


def test_missing_vgg_weights_stop_the_stage_with_the_download_hint(tmp_path, images):
    from distillsr.errors import DistillsrError

    with pytest.raises(DistillsrError, match=r"vgg19-dcbb9e9d.pth is not in .*stages.0.vgg_weights: PATH"):
        _session(tmp_path, images, "novgg", vgg="null", iterations=2).run()


def test_a_text_file_as_vgg_weights_is_one_line_from_the_command(tmp_path, images, capsys):
    """``--set stages.0.vgg_weights=FILE`` naming a text file: one error line, not ``KeyError: 101``."""
    from distillsr.cli import main

    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    path = tmp_path / "csd.yaml"
    path.write_text(RECIPE.format(kind="csd", out=tmp_path / "text", model=TINY_EDSR, images=images, iterations=1,
                                  vgg="random", negatives="others", ema="null", val_every=0))
    code = main(["-q", "train", str(path), "--device", "cpu", "--set", f"stages.0.vgg_weights={text}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"distillsr: error: {text}: not a readable PyTorch weights file (corrupt, truncated or another format)\n"


def test_a_torchvision_layout_file_is_what_the_stage_loads(tmp_path, images, vgg_file):
    _session(tmp_path, images, "file", vgg=str(vgg_file), iterations=1).run()
    assert (tmp_path / "file" / "models" / "final.safetensors").is_file()


@pytest.mark.parametrize("kind", ["csd", "pro-csd"])
def test_resuming_mid_stage_reproduces_the_uninterrupted_run(tmp_path, images, kind):
    options = {"kind": kind, "negatives": "batch", "ema": "0.9", "val_every": 3}  # the random draw, EMA and validation too
    _session(tmp_path, images, "whole", **options).run()
    state = next(path for _, iteration, path in find_states(tmp_path / "whole" / "checkpoints") if iteration == 3)
    _session(tmp_path, images, "resumed", resume=state, **options).run()
    whole, resumed = _final(tmp_path / "whole"), _final(tmp_path / "resumed")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
    losses = [row["loss"] for row in _rows(tmp_path / "whole") if row.get("loss")][3:]
    assert [row["loss"] for row in _rows(tmp_path / "resumed") if row.get("loss")] == losses


@pytest.mark.parametrize("negatives", ["others", "batch"])
def test_two_processes_under_torchrun_train_what_one_process_trains(tmp_path, images, negatives):
    """The contrastive ratio and its negatives span the whole step's batch across ranks (across_ranks.py),
    so two gloo processes with half the batch each end with one process's weights."""
    import subprocess

    from support import REPO_ROOT
    from support.training import torchrun_command, training_env

    finals, first = {}, {}
    for name in ("single", "ddp"):
        recipe = tmp_path / f"{name}.yaml"
        recipe.write_text(RECIPE.format(kind="csd", out=tmp_path / name, model=TINY_EDSR, images=images, iterations=3,
                                        vgg="random", negatives=negatives, ema="null", val_every=0))
        command = (torchrun_command(recipe) if name == "ddp"
                   else [sys.executable, "-m", "distillsr", "train", str(recipe), "-q", "--device", "cpu"])
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=training_env(), cwd=REPO_ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
        finals[name] = _final(tmp_path / name)
        first[name] = [row for row in _rows(tmp_path / name) if row.get("loss")][0]
    # the ratio over the whole batch, and log lines averaged over ranks: the first step logs one process's values
    for term in ("contrastive", "l1", "l1_w1", "loss"):
        assert float(first["ddp"][term]) == pytest.approx(float(first["single"][term]), rel=1e-6), term
    moved = max(float((finals["single"][k] - v).abs().max()) for k, v in _session(
        tmp_path, images, "init").build_network().state_dict().items() if k in finals["single"])
    assert moved > 1e-3, "the runs trained"
    gap = max(float((finals["single"][k] - finals["ddp"][k]).abs().max()) for k in finals["single"])
    assert gap < 5e-4, f"torchrun's weights differ from one process's by {gap}"  # per-rank negatives: 6e-3


def test_model_files_offer_only_the_widths_the_recipe_trained(tmp_path, images):
    from distillsr.api import at_width
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.errors import DistillsrError

    _session(tmp_path, images, "two", iterations=2, val_every=2).run()  # csd: student 0.25 and teacher 1.0
    for name in ("final", "best"):
        model = load_or_build(None, None, tmp_path / "two" / "models" / f"{name}.safetensors")
        assert model.network.widths == (1.0, 0.25), name
        with pytest.raises(DistillsrError, match="trained at widths 1, 0.25, not 0.5"):
            with at_width(model, 0.5):
                pass
    _session(tmp_path, images, "all", kind="pro-csd", iterations=1).run()
    model = load_or_build(None, None, tmp_path / "all" / "models" / "final.safetensors")
    assert model.network.widths == (1.0, 0.75, 0.5, 0.25)
    with at_width(model, 0.5):
        assert model.network.width == 0.5
