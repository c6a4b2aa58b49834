"""`distillsr train`: what the command prints (the resume hint, --print-config, its messages) and its exit codes.

The engine's behaviour (bit-identical resume, signals, DDP, stages, paths checked first) is tested
in tests/training/test_trainer.py, with the same tiny recipe (support.training_recipe).
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

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
    session = SimpleNamespace(latest_state=lambda: state, auto_resume_state=lambda: state,
                              info=SimpleNamespace(distributed=False))
    resume = "resume with: distillsr train configs/quick/rfdn_x4.yaml --set seed=1 --resume"
    saved = stopped_message(TrainingStopped(signal.SIGINT, saved=True, iteration=300), session, args)
    assert saved == f"stopped by SIGINT after iteration 300; training state saved to {state}; {resume}"
    aborted = stopped_message(TrainingStopped(signal.SIGINT, aborted=True), session, args)
    assert aborted == f"stopped by SIGINT without saving; the previous training state is {state}; {resume}"
    between = stopped_message(TrainingStopped(signal.SIGTERM), session, args)
    assert between == f"stopped by SIGTERM; the latest training state is {state}; {resume}"
    session.info.distributed = True
    assert stopped_message(TrainingStopped(signal.SIGTERM), session, args).endswith("--resume (under torchrun, as before)")
    session.auto_resume_state = lambda: tmp_path / "checkpoints" / "stage0_iter00000900.pt"  # a later-numbered leftover
    assert stopped_message(TrainingStopped(signal.SIGTERM), session, args).endswith(f"--resume {state} (under torchrun, as before)")
    session.latest_state = lambda: None
    assert "before a training state was saved; nothing to resume" in stopped_message(
        TrainingStopped(signal.SIGINT), session, args
    )


# --- one run per experiment folder: refused, resumed or moved aside, never mixed -------------------


def _train(capsys, recipe, *extra: str) -> tuple[int, str]:
    code = main(["train", str(recipe), "-q", "--device", "cpu", *extra])
    return code, capsys.readouterr().err


def _snapshot(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_new_run_into_a_folder_holding_another_runs_states_is_refused(tmp_path, images, capsys):
    out = tmp_path / "run"
    recipe = training_recipe(tmp_path, images, out, iterations=2)
    assert _train(capsys, recipe)[0] == 0
    before = _snapshot(out)
    code, err = _train(capsys, recipe)
    assert code == 1
    newest = out / "checkpoints" / "stage0_iter00000002.pt"
    assert err.count("\n") == 1 and err.startswith(f"distillsr: error: {out} already holds the training states of "
                                                   f"another run (newest: {newest})")
    assert "--resume" in err and "--overwrite" in err
    assert _snapshot(out) == before, "nothing of the old run was touched"


def test_overwrite_moves_the_previous_run_aside_and_says_where(tmp_path, images, capsys):
    out = tmp_path / "run"
    first = training_recipe(tmp_path, images, out, iterations=4)
    assert _train(capsys, first)[0] == 0
    old = _snapshot(out)
    second = training_recipe(tmp_path, images, out, iterations=2)
    code, err = main(["train", str(second), "--device", "cpu", "--overwrite"]), capsys.readouterr().err
    assert code == 0, err
    aside = out / "previous-run-1"
    assert f"--overwrite: the previous run's files (training states, models, logs) were moved to {aside}" in err
    assert _snapshot(aside) == old, "the previous run is kept whole, in its own folder"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["stage0_iter00000001.pt", "stage0_iter00000002.pt"]
    assert [row.split(",")[1] for row in (out / "log.csv").read_text().splitlines()[1:]] == ["2"], "only the new run's rows"
    assert _train(capsys, second, "--overwrite")[0] == 0
    assert (out / "previous-run-2" / "checkpoints" / "stage0_iter00000002.pt").is_file(), "a second replacement gets its own folder"
    assert _snapshot(aside) == old


def test_overwrite_and_resume_contradict_each_other(tmp_path, images, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", str(training_recipe(tmp_path, images, tmp_path / "x")), "--resume", "--overwrite"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_overwrite_is_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--overwrite" in text and "previous-run-N" in text


def test_resume_without_a_state_says_so_instead_of_starting_at_zero(tmp_path, images, capsys):
    out = tmp_path / "empty"
    code, err = _train(capsys, training_recipe(tmp_path, images, out, iterations=2), "--resume")
    assert code == 1
    assert err == f"distillsr: error: --resume: no training state in {out / 'checkpoints'} to continue from; " \
                  "start the run without --resume\n"
    assert not out.exists(), "nothing was trained or written"


def test_the_stop_line_names_the_state_this_run_saved(tmp_path, images, capsys, monkeypatch):
    """Resumed from its first state, a run stopped at once saves iteration 2: the line names that file,
    not the higher-numbered state of the abandoned continuation (``stage0_iter00000004.pt``)."""
    from distillsr.training import interrupt

    out = tmp_path / "run"
    recipe = training_recipe(tmp_path, images, out, iterations=4)
    assert _train(capsys, recipe)[0] == 0
    first = out / "checkpoints" / "stage0_iter00000001.pt"

    class StopAtOnce(interrupt.StopSignals):
        """A Ctrl-C already pressed: the loop stops after its first iteration."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.requested = signal.SIGINT

    monkeypatch.setattr(interrupt, "StopSignals", StopAtOnce)
    code = main(["train", str(recipe), "--device", "cpu", "--resume", str(first)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 130
    saved = out / "checkpoints" / "stage0_iter00000002.pt"
    assert last.startswith(f"stopped by SIGINT after iteration 2; training state saved to {saved}; "), last
    assert last.endswith(f"--resume {saved}"), "--resume alone would continue stage0_iter00000004.pt"
