"""``distillsr train`` on a tiny recipe: the recipe, real training photos, the subprocess and its logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from support import REPO_ROOT

# --- training runs: `distillsr train` on a tiny recipe (the engine's tests and the command's) -----

TRAIN_RECIPE = """
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
    lr_patch_size: {patch}
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
  print_every: {print_every}
checkpoint:
  every: {every}
  keep: 0
"""

# The signal tests need a run long enough that the signal lands mid-run however busy the machine
# is: about 10 ms an iteration on a free CPU core, so the run lasts a second or two after it.
SIGNAL_RUN = {"iterations": 150, "batch": 8, "patch": 16, "print_every": 1, "every": 0}


def training_images(folder: Path) -> Path:
    """Eight small real photos (scikit-image's bundled samples), cropped, written into ``folder``."""
    from skimage import data as skdata

    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    index = 0
    for picture in photos:
        for top in (0, 60):
            Image.fromarray(np.ascontiguousarray(picture[top : top + 40, 20:76])).save(folder / f"img{index}.png")
            index += 1
    return folder


def training_recipe(tmp_path: Path, images: Path, out: Path, *, iterations=10, batch=4, workers=0, ema="0.9",
                    val_every=0, extra_stages="", patch=12, print_every=2, every=1, val: Path | None = None) -> Path:
    """:data:`TRAIN_RECIPE` filled in and written beside the test's other files."""
    text = TRAIN_RECIPE.format(
        out=out, images=images, batch=batch, workers=workers, iterations=iterations, patch=patch,
        milestone=iterations // 2, ema=ema, val=val or images, val_every=val_every, extra_stages=extra_stages,
        print_every=print_every, every=every,
    )
    path = tmp_path / f"recipe_{out.name}.yaml"
    path.write_text(text)
    return path


def training_env() -> dict:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"  # the same thread count in every run: identical reduction orders
    env["PYTHONHASHSEED"] = "0"
    return env


def train_command(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "distillsr", "train", str(recipe), "-q", *extra]


def run_train(recipe: Path, *extra: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """``distillsr train`` in a fresh process, run from the repository root."""
    return subprocess.run(
        train_command(recipe, *extra), capture_output=True, text=True, timeout=timeout, env=training_env(), cwd=REPO_ROOT
    )


def log_rows(path: Path) -> int:
    """Rows of a run's log.csv so far (0 before it exists): how far a running training has got."""
    try:
        return max(0, len(path.read_text().splitlines()) - 1)
    except OSError:
        return 0


def run_two_ranks(script: str, *args: str, timeout: int = 180, **env: str) -> list[tuple[int, str, str]]:
    """``python -c script args`` as ranks 0 and 1 of a 2-process gloo group on this machine, as
    torchrun would start them; (return code, stdout, stderr) per rank."""
    port = free_port()
    processes = []
    for rank in range(2):
        rank_env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                        MASTER_PORT=str(port), OMP_NUM_THREADS="1", **env)
        processes.append(subprocess.Popen([sys.executable, "-c", script, *args], env=rank_env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=timeout) for process in processes]
    return [(process.returncode, out, err) for process, (out, err) in zip(processes, outputs)]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun_command(recipe: Path, *extra: str) -> list[str]:
    """``torchrun --nproc_per_node 2 -m distillsr train RECIPE`` on the CPU (gloo), on a free port."""
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
            "-m", "distillsr", "train", str(recipe), "-q", "--device", "cpu", *extra]
