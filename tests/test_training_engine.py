"""The training engine: bit-identical resume after SIGKILL, DDP equivalence, stages, EMA, schedules."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata

from distillsr.checkpoints.format import read_checkpoint
from distillsr.errors import DistillsrError
from distillsr.training.schedules import Schedule

REPO = Path(__file__).resolve().parents[1]

RECIPE = """
name: tiny
seed: 3
output_dir: {out}
model:
  name: imdn
  scale: 2
  kwargs: {{channels: 16, num_blocks: 1}}
data:
  train:
    hr_folders: [{images}]
    lr_patch_size: 12
    batch_size: {batch}
    num_workers: {workers}
    repeat: 4
  val:
    folders: [{val}]
    every: {val_every}
stages:
  - kind: train
    iterations: {iterations}
    optimizer: {{type: adam, lr: 2.0e-3}}
    scheduler: {{type: multistep, milestones: [{milestone}], gamma: 0.5}}
    ema_decay: {ema}
{extra_stages}
logging:
  print_every: 2
checkpoint:
  every: 1
  keep: 0
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Six small real photos (scikit-image's bundled samples), cropped."""
    folder = tmp_path_factory.mktemp("train")
    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    index = 0
    for photo in photos:
        for top in (0, 60):
            Image.fromarray(np.ascontiguousarray(photo[top : top + 40, 20:76])).save(folder / f"img{index}.png")
            index += 1
    return folder


def _recipe(tmp_path: Path, images: Path, out: Path, *, iterations=10, batch=4, workers=0, ema="0.9",
            val_every=0, extra_stages="") -> Path:
    text = RECIPE.format(
        out=out, images=images, batch=batch, workers=workers, iterations=iterations,
        milestone=iterations // 2, ema=ema, val=images, val_every=val_every, extra_stages=extra_stages,
    )
    path = tmp_path / f"recipe_{out.name}.yaml"
    path.write_text(text)
    return path


def _env() -> dict:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"  # the same thread count in every run: identical reduction orders
    env["PYTHONHASHSEED"] = "0"
    return env


def _train(recipe: Path, *extra: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "distillsr", "train", str(recipe), "-q", *extra],
        capture_output=True, text=True, timeout=timeout, env=_env(), cwd=REPO,
    )


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)[1]


def test_sigkill_at_a_random_iteration_then_resume_is_bit_identical(tmp_path, images):
    reference_dir = tmp_path / "uninterrupted"
    done = _train(_recipe(tmp_path, images, reference_dir))
    assert done.returncode == 0, done.stderr
    reference = _weights(reference_dir / "models" / "final.safetensors")

    killed_dir = tmp_path / "killed"
    recipe = _recipe(tmp_path, images, killed_dir)
    kill_after = random.Random().randint(2, 8)
    process = subprocess.Popen(
        [sys.executable, "-m", "distillsr", "train", str(recipe), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=REPO,
    )
    target = killed_dir / "checkpoints" / f"stage0_iter{kill_after:08d}.pt"
    deadline = time.time() + 200
    while not target.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed_dir / "models" / "final.safetensors").exists(), "the run finished before it was killed"

    resumed = _train(recipe, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    final = _weights(killed_dir / "models" / "final.safetensors")
    assert final.keys() == reference.keys()
    for name in reference:
        assert torch.equal(final[name], reference[name]), f"{name} differs after resuming at {kill_after}"
    # the log has each iteration once, with the same losses, as if nothing had happened
    def losses(folder):
        lines = (folder / "log.csv").read_text().splitlines()
        header = lines[0].split(",")
        return [tuple(row.split(",")[:3]) for row in lines[1:]], header

    assert losses(killed_dir) == losses(reference_dir)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_with_gloo_match_one_process(tmp_path, images):
    single_dir, ddp_dir = tmp_path / "single", tmp_path / "ddp"
    single = _train(_recipe(tmp_path, images, single_dir, iterations=4, ema="null"))
    assert single.returncode == 0, single.stderr
    recipe = _recipe(tmp_path, images, ddp_dir, iterations=4, ema="null")
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         "-m", "distillsr", "train", str(recipe), "-q", "--device", "cpu"],
        capture_output=True, text=True, timeout=300, env=_env(), cwd=REPO,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = _weights(single_dir / "models" / "final.safetensors")
    b = _weights(ddp_dir / "models" / "final.safetensors")
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6


def test_train_then_reparameterize_writes_a_deploy_model(tmp_path, images):
    out = tmp_path / "fold"
    recipe = _recipe(tmp_path, images, out, iterations=3, ema="null", val_every=3,
                     extra_stages="  - kind: reparameterize")
    recipe.write_text(recipe.read_text().replace("name: imdn", "name: dipnet-student").replace(
        "kwargs: {channels: 16, num_blocks: 1}", "kwargs: {channels: 8, mid_channels: 8, expansion: 16, num_blocks: 1}"
    ).replace("lr_patch_size: 12", "lr_patch_size: 16"))
    result = _train(recipe)
    assert result.returncode == 0, result.stderr
    info, tensors = read_checkpoint(out / "models" / "final.safetensors")
    assert info.form == "deploy" and info.model == "dipnet-student"
    assert not any("expand" in k or "squeeze" in k for k in tensors)
    assert (out / "models" / "best.safetensors").exists()
    assert "Set" in (out / "log.csv").read_text() or "psnr" in (out / "log.csv").read_text()


def test_print_config_and_unknown_keys(tmp_path, images):
    recipe = _recipe(tmp_path, images, tmp_path / "x")
    shown = _train(recipe, "--print-config", "--set", "stages.0.optimizer.lr=1e-4")
    assert shown.returncode == 0 and "0.0001" in shown.stdout
    bad = _train(recipe, "--set", "stages.0.optimzer.lr=1e-4")
    assert bad.returncode == 1 and "optimizer" in bad.stderr and "Traceback" not in bad.stderr


def test_schedules():
    multistep = Schedule("multistep", 1e-3, 100, milestones=(50, 80), gamma=0.5)
    assert [multistep.lr(i) for i in (0, 49, 50, 79, 80)] == [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4]
    cosine = Schedule("cosine", 1e-3, 100, warmup_iterations=10, min_lr=1e-5)
    assert cosine.lr(0) == pytest.approx(1e-4) and cosine.lr(9) == pytest.approx(1e-3)
    assert cosine.lr(10) == pytest.approx(1e-3) and cosine.lr(100) == pytest.approx(1e-5)
    assert cosine.lr(55) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5)
    step = Schedule("step", 1.0, 10, step_size=3, gamma=0.1)
    assert step.lr(2) == 1.0 and step.lr(3) == pytest.approx(0.1) and step.lr(9) == pytest.approx(1e-3)
    with pytest.raises(DistillsrError):
        Schedule("poly", 1.0, 10)
