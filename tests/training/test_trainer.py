"""The training engine end to end, through ``distillsr train`` in subprocesses.

Bit-identical resume after SIGKILL (from a periodic state) and after SIGINT/SIGTERM (from the
state the signal saves), progressive stages resumed inside a later stage, a finished stage's change
of architecture replayed on resume, DDP equivalence, the validation lines and train.log, and the
paths checked before anything is made.
What the command itself prints (the resume hint, --print-config, its messages) is tested in
tests/commands/test_train.py.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from support import REPO_ROOT
from support.training import (
    SIGNAL_RUN,
    log_rows,
    run_train,
    torchrun_command,
    train_command,
    training_env,
    training_recipe,
)

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.training.recipe import StageConfig
from distillsr.training.stages.base import StageKind, StageResult
from distillsr.training.state import load_training_state


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)[1]


def _assert_resume_reproduces(recipe: Path, out: Path, reference: Path, resumed_line: str, where: str) -> None:
    """``--resume`` finishes the stopped run in ``out`` with the uninterrupted ``reference`` run's
    final weights and loss log, and says where it resumed from."""
    resumed = run_train(recipe, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed_line in resumed.stderr
    expected = _weights(reference / "models" / "final.safetensors")
    _assert_same_weights(_weights(out / "models" / "final.safetensors"), expected, where)
    assert _losses(out) == _losses(reference)


def _assert_same_weights(final: dict, reference: dict, where: str) -> None:
    assert final.keys() == reference.keys()
    for name in reference:
        assert torch.equal(final[name], reference[name]), f"{name} differs after resuming at {where}"


def _losses(folder: Path) -> list[tuple[str, ...]]:
    """Stage, iteration and loss of every log row: a resumed run logs each iteration once, as before."""
    lines = (folder / "log.csv").read_text().splitlines()
    return [tuple(row.split(",")[:3]) for row in lines[1:]]


def _no_temporary_files(folder: Path) -> None:
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, f"half-written files left behind: {leftovers}"


# --- resume after SIGKILL, SIGINT, SIGTERM ------------------------------------------------


def test_sigkill_at_a_random_iteration_then_resume_is_bit_identical(tmp_path, images):
    reference_dir = tmp_path / "uninterrupted"
    done = run_train(training_recipe(tmp_path, images, reference_dir))
    assert done.returncode == 0, done.stderr
    reference = _weights(reference_dir / "models" / "final.safetensors")

    killed_dir = tmp_path / "killed"
    recipe = training_recipe(tmp_path, images, killed_dir)
    kill_after = random.Random().randint(2, 8)
    process = subprocess.Popen(
        train_command(recipe), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=training_env(), cwd=REPO_ROOT,
    )
    target = killed_dir / "checkpoints" / f"stage0_iter{kill_after:08d}.pt"
    deadline = time.time() + 200
    while not target.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed_dir / "models" / "final.safetensors").exists(), "the run finished before it was killed"

    resumed = run_train(recipe, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    _assert_same_weights(_weights(killed_dir / "models" / "final.safetensors"), reference, str(kill_after))
    assert _losses(killed_dir) == _losses(reference_dir)


@pytest.fixture(scope="module")
def signal_reference(tmp_path_factory, images) -> Path:
    """An uninterrupted run of the signal tests' recipe (its folder)."""
    tmp_path = tmp_path_factory.mktemp("signal-reference")
    out = tmp_path / "uninterrupted"
    done = run_train(training_recipe(tmp_path, images, out, **SIGNAL_RUN))
    assert done.returncode == 0, done.stderr
    return out


def _stop_midway(recipe: Path, out: Path, signum: int, after: int):
    """Start a run and send it ``signum`` once ``after`` iterations are logged."""
    process = subprocess.Popen(
        train_command(recipe), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=training_env(), cwd=REPO_ROOT,
    )
    deadline = time.time() + 200
    while log_rows(out / "log.csv") < after and process.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_the_iteration_in_progress_and_the_resume_is_bit_identical(
    tmp_path, images, signal_reference, signum, code
):
    out = tmp_path / "stopped"
    recipe = training_recipe(tmp_path, images, out, **SIGNAL_RUN)  # no periodic state: only the signal saves one
    after = random.Random().randint(2, 8)
    returncode, _, stderr = _stop_midway(recipe, out, signum, after)
    assert returncode == code, stderr
    assert not (out / "models" / "final.safetensors").exists(), "the run finished before the signal"
    states = sorted((out / "checkpoints").glob("*.pt"))
    assert len(states) == 1, states
    state = load_training_state(states[0])
    assert after <= state["iteration"] < SIGNAL_RUN["iterations"]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last == (
        f"stopped by {signal.Signals(signum).name} after iteration {state['iteration']}; training state saved to "
        f"{states[0]}; resume with: distillsr train {recipe} --resume"
    )
    _no_temporary_files(out)

    _assert_resume_reproduces(recipe, out, signal_reference, f"resuming from {states[0]}", f"iteration {state['iteration']}")


# --- progressive learning: stages chained, resumed across them -------------------------------

PROGRESSIVE = """\
  - kind: train
    iterations: 40
    lr_patch_size: 16
    losses: [{type: l2}]
    optimizer: {type: adam, lr: 1.0e-3}
  - kind: train
    iterations: 60
    lr_patch_size: 16
    losses: [{type: l2}]
    optimizer: {type: adam, lr: 5.0e-4}"""
"""Stage 0 (the tiny recipe's own: 12 px patches, L1, lr 2e-3) -> 16 px, L2, 1e-3 -> 16 px, L2, 5e-4."""


@pytest.fixture(scope="module")
def progressive_reference(tmp_path_factory, images) -> Path:
    tmp_path = tmp_path_factory.mktemp("progressive-reference")
    out = tmp_path / "uninterrupted"
    done = run_train(training_recipe(tmp_path, images, out, extra_stages=PROGRESSIVE))
    assert done.returncode == 0, done.stderr
    return out


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.time() + 200
    while not path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)


@pytest.mark.parametrize(("signum", "stage"), [(signal.SIGKILL, 1), (signal.SIGINT, 2)], ids=["SIGKILL-stage1", "SIGINT-stage2"])
def test_progressive_stages_resume_bit_identically_inside_a_later_stage(tmp_path, images, progressive_reference,
                                                                         signum, stage):
    """Each stage continues from the previous one's weights; a run stopped in a later stage resumes there."""
    out = tmp_path / "stopped"
    recipe = training_recipe(tmp_path, images, out, extra_stages=PROGRESSIVE)
    process = subprocess.Popen(train_command(recipe), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=training_env(), cwd=REPO_ROOT)
    _wait_for(out / "checkpoints" / f"stage{stage}_iter{random.Random().randint(2, 8):08d}.pt", process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert not (out / "models" / "final.safetensors").exists(), "the run finished before it was stopped"
    latest = load_training_state(sorted((out / "checkpoints").glob("*.pt"))[-1])
    assert latest["stage"] == stage, stderr

    _assert_resume_reproduces(
        recipe, out, progressive_reference, f"resuming from {out / 'checkpoints'}/stage{stage}_iter", f"stage {stage}"
    )


def test_progressive_stages_change_the_loss_and_the_learning_rate(progressive_reference):
    with open(progressive_reference / "log.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    first = {stage: next(r for r in rows if r["stage"] == stage) for stage in ("0", "1", "2")}
    assert first["0"]["l1"] and not first["0"]["l2"] and first["1"]["l2"] and not first["1"]["l1"]
    assert [float(first[stage]["lr"]) for stage in ("0", "1", "2")] == [2e-3, 1e-3, 5e-4]
    assert {r["stage"] for r in rows} == {"0", "1", "2"}


# --- DDP and stages --------------------------------------------------------------------


def test_two_processes_with_gloo_match_one_process(tmp_path, images):
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    single = run_train(training_recipe(tmp_path, images, single_dir, iterations=4, ema="null"))
    assert single.returncode == 0, single.stderr
    recipe = training_recipe(tmp_path, images, ddp_dir, iterations=4, ema="null")
    ddp = subprocess.run(torchrun_command(recipe), capture_output=True, text=True, timeout=300, env=training_env(), cwd=REPO_ROOT)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = _weights(single_dir / "models" / "final.safetensors")
    b = _weights(ddp_dir / "models" / "final.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6


def test_ctrl_c_under_torchrun_stops_every_rank_after_the_same_iteration_and_resumes_bit_identical(tmp_path, images):
    run = {**SIGNAL_RUN, "ema": "null"}
    reference_dir, out = tmp_path / "ddp-reference", tmp_path / "ddp-stopped"
    reference = subprocess.run(torchrun_command(training_recipe(tmp_path, images, reference_dir, **run)), capture_output=True,
                               text=True, timeout=300, env=training_env(), cwd=REPO_ROOT)
    assert reference.returncode == 0, reference.stderr[-3000:]

    recipe = training_recipe(tmp_path, images, out, **run)
    process = subprocess.Popen(torchrun_command(recipe), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=training_env(), cwd=REPO_ROOT, start_new_session=True)
    deadline = time.time() + 200
    while log_rows(out / "log.csv") < 3 and process.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the agent and both ranks get it
    _, stderr = process.communicate(timeout=120)
    assert not (out / "models" / "final.safetensors").exists(), "the run finished before the signal"
    states = sorted((out / "checkpoints").glob("*.pt"))
    assert len(states) == 1, stderr[-3000:]
    assert stderr.count("training state saved to") == 1, "only rank 0 speaks"
    _no_temporary_files(out)

    resumed = subprocess.run(torchrun_command(recipe, "--resume"), capture_output=True, text=True, timeout=300,
                             env=training_env(), cwd=REPO_ROOT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_weights(_weights(out / "models" / "final.safetensors"),
                         _weights(reference_dir / "models" / "final.safetensors"), states[0].name)


def test_train_then_reparameterize_writes_a_deploy_model(tmp_path, images):
    out = tmp_path / "fold"
    recipe = training_recipe(tmp_path, images, out, iterations=3, ema="null", val_every=3,
                     extra_stages="  - kind: reparameterize")
    recipe.write_text(recipe.read_text().replace("name: imdn", "name: dipnet-student").replace(
        "kwargs: {channels: 16, num_blocks: 1}", "kwargs: {channels: 8, mid_channels: 8, expansion: 16, num_blocks: 1}"
    ).replace("lr_patch_size: 12", "lr_patch_size: 16"))
    result = run_train(recipe)
    assert result.returncode == 0, result.stderr
    info, tensors = read_checkpoint(out / "models" / "final.safetensors")
    assert info.form == "deploy" and info.model == "dipnet-student"
    assert not any("expand" in k or "squeeze" in k for k in tensors)
    assert (out / "models" / "best.safetensors").exists()
    assert "Set" in (out / "log.csv").read_text() or "psnr" in (out / "log.csv").read_text()


# --- a stage that changes the architecture is replayed on resume ---------------------------


class GrowStage(StageKind):
    """Adds a block (what a prune stage does the other way round): the new shape is a weights-free record."""

    replays: ClassVar[list] = []

    @staticmethod
    def _build(network, blocks: int):
        from distillsr.models.zoo import get_entry

        return get_entry("imdn").build(2, channels=16, num_blocks=blocks).to(next(network.parameters()).device)

    def run(self, context, index, config, network, resume):
        from distillsr.training.stages.init_weights import load_fitting

        grown = self._build(network, 2)
        load_fitting(grown, network.state_dict())
        return StageResult(grown, record={"num_blocks": 2}, model_kwargs={"num_blocks": 2})

    def replay(self, network, config, record=None):
        self.replays.append(record)
        return self._build(network, record["num_blocks"])


@dataclasses.dataclass(frozen=True, kw_only=True)
class GrowStageConfig(StageConfig):
    kind: ClassVar[str] = "grow"
    runner: ClassVar[type] = GrowStage  # the options name their runner: the session needs no table


def test_a_resumed_run_replays_the_architecture_a_finished_stage_changed(tmp_path, images):
    from distillsr.checkpoints.model_loading import load_or_build
    from distillsr.stages import load_recipe
    from distillsr.training import trainer

    base = load_recipe(training_recipe(tmp_path, images, tmp_path / "grown", iterations=3, ema="null"))
    recipe = dataclasses.replace(base, stages=(base.stages[0], GrowStageConfig(), base.stages[0]))
    reference = trainer.TrainingSession(recipe, device="cpu", progress=False).run()
    state = tmp_path / "grown" / "checkpoints" / "stage2_iter00000001.pt"
    assert load_training_state(state)["finished"] == {"1": {"record": {"num_blocks": 2}, "model_kwargs": {"num_blocks": 2}}}

    again = dataclasses.replace(recipe, output_dir=str(tmp_path / "resumed"))
    resumed = trainer.TrainingSession(again, device="cpu", progress=False, resume=str(state)).run()
    assert GrowStage.replays == [{"num_blocks": 2}]
    assert resumed.iterations == 2 and reference.iterations == 6
    _assert_same_weights(_weights(resumed.final_model), _weights(reference.final_model), "stage 2")
    info, _ = read_checkpoint(resumed.final_model)
    assert info.kwargs["num_blocks"] == 2, "later model files describe the grown network"
    assert load_or_build(None, None, str(resumed.final_model)).network.state_dict().keys() == _weights(resumed.final_model).keys()


# --- what the run tells: validation lines on the console, kept in train.log ---------------------

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def test_each_validation_check_is_a_console_line_and_train_log_keeps_every_line(tmp_path, images):
    out = tmp_path / "feedback"
    recipe = training_recipe(tmp_path, images, out, iterations=4, ema="null", val_every=2)
    first = run_train(recipe)
    assert first.returncode == 0, first.stderr
    checks = [line for line in first.stderr.splitlines() if line.startswith("[stage0-train ")]
    assert [c.split("]")[0] for c in checks] == ["[stage0-train 2/4", "[stage0-train 4/4"]
    assert all(re.fullmatch(r"\[stage0-train \d/4\] \S+ PSNR \d+\.\d\d dB SSIM 0\.\d{4} \(classic\)", c) for c in checks)
    again = run_train(recipe, "--resume")  # the finished run's last state: nothing left, but it speaks
    assert again.returncode == 0, again.stderr
    kept = (out / "train.log").read_text().splitlines()
    assert all(STAMP.match(line) for line in kept)
    assert [STAMP.sub("", line) for line in kept] == first.stderr.splitlines() + again.stderr.splitlines()
    assert "resuming from" in again.stderr


# --- paths are checked before anything is created ------------------------------------------


def _train_in_process(capsys, recipe: Path, *extra: str) -> tuple[int, str]:
    code = main(["train", str(recipe), "-q", "--device", "cpu", *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("where", ["train", "val"])
def test_a_missing_data_folder_stops_the_run_before_the_experiment_folder_is_made(tmp_path, images, capsys, where):
    out, missing = tmp_path / "run", tmp_path / "no-such-folder"
    if where == "train":
        recipe = training_recipe(tmp_path, missing, out, val_every=5)
        key = "data.train.hr_folders.0"
    else:
        recipe = training_recipe(tmp_path, images, out, val_every=5, val=missing)
        key = "data.val.folders.0"
    code, err = _train_in_process(capsys, recipe)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"distillsr: error: {key}: ") and str(missing) in err
    assert not out.exists(), "nothing may be created before the paths are checked"


def test_an_output_folder_under_a_regular_file_is_refused_before_anything_is_made(tmp_path, images, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "run"
    recipe = training_recipe(tmp_path, images, tmp_path / "from-recipe")
    code, err = _train_in_process(capsys, recipe, "--output-dir", str(target))
    assert code == 1
    assert err.count("\n") == 1 and "cannot write experiment folder" in err and str(target) in err
    assert blocker.read_text() == "not a folder"
    assert not (tmp_path / "from-recipe").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a-file", recipe.name])


@pytest.mark.parametrize("degradation", ["BI", "BD"])
def test_validation_makes_lr_with_the_training_degradation(tmp_path, images, monkeypatch, degradation):
    """A BD recipe validated on bicubic LR would report scores of another task."""
    from distillsr.data import eval_sets
    from distillsr.stages import load_recipe
    from distillsr.training.trainer import TrainingSession

    recipe = load_recipe(training_recipe(tmp_path, images, tmp_path / "out", val_every=5),
                         [f"data.train.degradation={degradation}"])
    made = []
    real = eval_sets.EvalSet

    def recording(folder, scale, lr_making=None, **kwargs):
        made.append(lr_making)
        return real(folder, scale, lr_making, **kwargs)

    session = TrainingSession(recipe, device="cpu", progress=False)
    monkeypatch.setattr(eval_sets, "EvalSet", recording)
    assert session.context.validator("stage0-train", 5) is not None
    assert [d.name for d in made] == [degradation]
