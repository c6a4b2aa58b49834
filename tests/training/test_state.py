"""The training state on disk: the random generators round-trip, saves are atomic, strangers are refused."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from distillsr.errors import DistillsrError
from distillsr.training.state import (
    STATE_FORMAT,
    STATE_VERSION,
    capture_rng,
    find_states,
    load_training_state,
    restore_rng,
    save_training_state,
)


def _draws() -> tuple:
    return random.random(), random.gauss(0, 1), float(np.random.rand()), np.random.randn(3).tolist(), torch.rand(4)


def _same(a: tuple, b: tuple) -> bool:
    return a[:4] == b[:4] and torch.equal(a[4], b[4])


def test_capture_then_restore_replays_every_generator():
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached second Gaussian in Python's state
    np.random.randn()  # and in NumPy's
    captured = capture_rng()
    first = _draws()
    restore_rng(captured)
    assert _same(_draws(), first)


def test_the_generators_survive_a_save_and_a_weights_only_load(tmp_path):
    torch.manual_seed(5)
    path = tmp_path / "state.pt"
    save_training_state(path, {"rng": capture_rng(), "iteration": 7, "model": {"w": torch.arange(3.0)}})
    first = _draws()
    loaded = load_training_state(path)
    assert loaded["format"] == STATE_FORMAT and loaded["version"] == STATE_VERSION and loaded["iteration"] == 7
    assert torch.equal(loaded["model"]["w"], torch.arange(3.0))
    restore_rng(loaded["rng"])
    assert _same(_draws(), first)


def test_a_failed_save_keeps_the_previous_state_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "stage0_iter00000004.pt"
    save_training_state(path, {"iteration": 4})

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        save_training_state(path, {"iteration": 5})
    monkeypatch.undo()
    assert load_training_state(path)["iteration"] == 4
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_files_that_are_not_states_are_refused(tmp_path):
    with pytest.raises(DistillsrError, match="no training state at"):
        load_training_state(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(DistillsrError, match="not a readable training state"):
        load_training_state(garbage)
    foreign = tmp_path / "weights.pth"
    torch.save({"model": {"w": torch.zeros(1)}}, foreign)  # a plain checkpoint of another tool
    with pytest.raises(DistillsrError, match="not a distillsr training state"):
        load_training_state(foreign)


def test_a_state_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({"format": STATE_FORMAT, "version": STATE_VERSION + 1}, path)
    with pytest.raises(DistillsrError, match="newer distillsr"):
        load_training_state(path)


class Payload:
    """An arbitrary object: unpickling it would run code of the file's choosing."""


def test_pickled_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"format": STATE_FORMAT, "version": STATE_VERSION, "payload": Payload()}, path)
    with pytest.raises(DistillsrError, match="not a readable training state"):
        load_training_state(path)


def test_states_are_found_in_stage_then_iteration_order(tmp_path):
    assert find_states(tmp_path / "absent") == []
    for name in ("stage1_iter00000002.pt", "stage0_iter00000010.pt", "stage1_iter00000010.pt", "notes.pt", "stage2_iter5.pt.tmp"):
        (tmp_path / name).write_bytes(b"")
    assert [(stage, iteration) for stage, iteration, _ in find_states(tmp_path)] == [(0, 10), (1, 2), (1, 10)]
    assert find_states(tmp_path)[-1][2] == tmp_path / "stage1_iter00000010.pt"
