"""`distillsr train`: what the command prints (the resume hint, --print-config, its messages) and its exit codes.

The engine's behaviour (bit-identical resume, signals, DDP, stages, paths checked first) is tested
in tests/training/test_trainer.py, with the same tiny recipe (support.training_recipe).
"""

from __future__ import annotations

import signal
import subprocess
import time

from support import REPO_ROOT
from support.training import (
    SIGNAL_RUN,
    log_rows,
    run_train,
    train_command,
    training_env,
    training_recipe,
)

from distillsr.cli import main


def test_the_resume_hint_repeats_the_overrides_and_output_folder(tmp_path, images):
    out = tmp_path / "elsewhere"
    recipe = training_recipe(tmp_path, images, tmp_path / "ignored", **SIGNAL_RUN)
    process = subprocess.Popen(
        train_command(recipe, "--set", "seed=3", "--output-dir", str(out)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=training_env(), cwd=REPO_ROOT,
    )
    deadline = time.time() + 200
    while log_rows(out / "log.csv") < 2 and process.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().endswith(f"resume with: distillsr train {recipe} --set seed=3 --output-dir {out} --resume")
    assert not (tmp_path / "ignored").exists()


def test_print_config_and_unknown_keys(tmp_path, images):
    recipe = training_recipe(tmp_path, images, tmp_path / "x")
    shown = run_train(recipe, "--print-config", "--set", "stages.0.optimizer.lr=1e-4")
    assert shown.returncode == 0 and "0.0001" in shown.stdout
    assert shown.stderr == "", "the printed recipe is the only output, on stdout"
    bad = run_train(recipe, "--set", "stages.0.optimzer.lr=1e-4")
    assert bad.returncode == 1 and "optimizer" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()


def test_messages_go_to_the_console_log_and_stdout_stays_empty(tmp_path, images, capsys):
    out = tmp_path / "quiet"
    code = main(["train", str(training_recipe(tmp_path, images, out, iterations=2)), "-q", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == ""
    assert "training tiny: imdn x2, 1 stage(s)" in captured.err and "done: 2 iteration(s)" in captured.err
    assert f"final model: {out / 'models' / 'final.safetensors'}" in captured.err
    assert main(["-q", "train", str(training_recipe(tmp_path, images, tmp_path / "silent", iterations=2)), "-q"]) == 0
    assert capsys.readouterr().err == "", "distillsr -q shows errors only"


def test_the_stop_line_says_what_was_saved_and_where_to_resume(tmp_path):
    """``distillsr train``'s last line for each way a run can stop (the command is the trainer's front)."""
    import argparse
    from types import SimpleNamespace

    from distillsr.commands.train import stopped_message
    from distillsr.training.interrupt import TrainingStopped

    args = argparse.Namespace(recipe="configs/quick/rfdn_x4.yaml", set=["seed=1"], output_dir=None, device="auto")
    state = tmp_path / "checkpoints" / "stage0_iter00000300.pt"
    session = SimpleNamespace(latest_state=lambda: state, info=SimpleNamespace(distributed=False))
    resume = "resume with: distillsr train configs/quick/rfdn_x4.yaml --set seed=1 --resume"
    saved = stopped_message(TrainingStopped(signal.SIGINT, saved=True, iteration=300), session, args)
    assert saved == f"stopped by SIGINT after iteration 300; training state saved to {state}; {resume}"
    aborted = stopped_message(TrainingStopped(signal.SIGINT, aborted=True), session, args)
    assert aborted == f"stopped by SIGINT without saving; the previous training state is {state}; {resume}"
    between = stopped_message(TrainingStopped(signal.SIGTERM), session, args)
    assert between == f"stopped by SIGTERM; the latest training state is {state}; {resume}"
    session.info.distributed = True
    assert stopped_message(TrainingStopped(signal.SIGTERM), session, args).endswith("--resume (under torchrun, as before)")
    session.latest_state = lambda: None
    assert "before a training state was saved; nothing to resume" in stopped_message(
        TrainingStopped(signal.SIGINT), session, args
    )
