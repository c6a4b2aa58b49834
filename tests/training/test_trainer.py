"""The training engine end to end, through ``distillsr train`` in subprocesses.

Bit-identical resume after SIGKILL (from a periodic state) and after SIGINT/SIGTERM (from the
state the signal saves), DDP equivalence, stages, and the paths checked before anything is made.
What the command itself prints (the resume hint, --print-config, its messages) is tested in
tests/commands/test_train.py.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from support import REPO_ROOT
from support.training import (
    SIGNAL_RUN,
    log_rows,
    run_train,
    train_command,
    training_env,
    training_recipe,
)

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.training.state import load_training_state


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)[1]


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

    resumed = run_train(recipe, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {states[0]}" in resumed.stderr
    reference = _weights(signal_reference / "models" / "final.safetensors")
    _assert_same_weights(_weights(out / "models" / "final.safetensors"), reference, f"iteration {state['iteration']}")
    assert _losses(out) == _losses(signal_reference)


# --- DDP and stages --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
            "-m", "distillsr", "train", str(recipe), "-q", "--device", "cpu", *extra]


def test_two_processes_with_gloo_match_one_process(tmp_path, images):
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    single = run_train(training_recipe(tmp_path, images, single_dir, iterations=4, ema="null"))
    assert single.returncode == 0, single.stderr
    recipe = training_recipe(tmp_path, images, ddp_dir, iterations=4, ema="null")
    ddp = subprocess.run(_torchrun(recipe), capture_output=True, text=True, timeout=300, env=training_env(), cwd=REPO_ROOT)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = _weights(single_dir / "models" / "final.safetensors")
    b = _weights(ddp_dir / "models" / "final.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6


def test_ctrl_c_under_torchrun_stops_every_rank_after_the_same_iteration_and_resumes_bit_identical(tmp_path, images):
    run = {**SIGNAL_RUN, "ema": "null"}
    reference_dir, out = tmp_path / "ddp-reference", tmp_path / "ddp-stopped"
    reference = subprocess.run(_torchrun(training_recipe(tmp_path, images, reference_dir, **run)), capture_output=True,
                               text=True, timeout=300, env=training_env(), cwd=REPO_ROOT)
    assert reference.returncode == 0, reference.stderr[-3000:]

    recipe = training_recipe(tmp_path, images, out, **run)
    process = subprocess.Popen(_torchrun(recipe), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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

    resumed = subprocess.run(_torchrun(recipe, "--resume"), capture_output=True, text=True, timeout=300,
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
    import distillsr.data.benchmark as benchmark
    from distillsr.training.recipe import load_recipe
    from distillsr.training.trainer import TrainingSession

    recipe = load_recipe(training_recipe(tmp_path, images, tmp_path / "out", val_every=5),
                         [f"data.train.degradation={degradation}"])
    made = []
    real = benchmark.BenchmarkSet

    def recording(folder, scale, lr_making=None, **kwargs):
        made.append(lr_making)
        return real(folder, scale, lr_making, **kwargs)

    session = TrainingSession(recipe, device="cpu", progress=False)
    monkeypatch.setattr(benchmark, "BenchmarkSet", recording)
    assert session._validator() is not None
    assert [d.name for d in made] == [degradation]
