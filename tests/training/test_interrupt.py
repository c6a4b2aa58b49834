"""Signals as stop requests: immediate outside a stage, deferred inside one, and what repeats do."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import pytest

from distillsr.atomic import atomic_write
from distillsr.training.interrupt import StopSignals, TrainingStopped, signal_name

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.INFO, logger="distillsr")
    return caplog


def test_outside_a_stage_a_signal_stops_at_once():
    with StopSignals() as stop:
        with pytest.raises(TrainingStopped) as stopped:
            signal.raise_signal(signal.SIGINT)
    assert isinstance(stopped.value, KeyboardInterrupt), "cleanup written for Ctrl-C applies"
    assert (stopped.value.signum, stopped.value.exit_code, stopped.value.saved) == (signal.SIGINT, 130, False)
    assert stop.requested == signal.SIGINT


def test_sigterm_exits_143():
    with StopSignals():
        with pytest.raises(TrainingStopped) as stopped:
            signal.raise_signal(signal.SIGTERM)
    assert stopped.value.exit_code == 143 and signal_name(stopped.value.signum) == "SIGTERM"


def test_inside_a_stage_the_first_signal_is_a_request_honoured_when_the_block_ends(logged):
    with StopSignals() as stop:
        with pytest.raises(TrainingStopped) as stopped:
            with stop.deferred():
                signal.raise_signal(signal.SIGINT)
                assert stop.requested == signal.SIGINT, "recorded, and the body carries on"
                carried_on = True
    assert carried_on and not stopped.value.saved and not stopped.value.aborted
    assert [r.getMessage() for r in logged.records] == [
        "SIGINT: finishing the current iteration, then saving the training state and stopping"
    ]


def test_a_second_signal_says_it_is_still_stopping_and_a_third_aborts(logged):
    with StopSignals() as stop:
        with stop.deferred():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert stop.count == 2
            with pytest.raises(TrainingStopped) as stopped:
                signal.raise_signal(signal.SIGINT)
            stop.requested = None  # the test has seen the abort; leave the block quietly
    assert stopped.value.aborted and stopped.value.exit_code == 130
    levels = [(r.levelno, r.getMessage().split(":")[0]) for r in logged.records]
    assert levels == [(logging.INFO, "SIGINT"), (logging.WARNING, "SIGINT again"), (logging.WARNING, "SIGINT again")]
    assert "still finishing the iteration and saving the training state" in logged.records[1].getMessage()


def test_a_second_signal_during_a_save_lets_it_finish_and_a_third_keeps_the_previous_file(tmp_path):
    path = tmp_path / "state.pt"
    path.write_bytes(b"previous")

    def write(stream, signals: int) -> None:
        stream.write(b"half")
        for _ in range(signals):
            signal.raise_signal(signal.SIGINT)
        stream.write(b" and the rest")

    with StopSignals() as stop:
        with pytest.raises(TrainingStopped):  # the request, once the block ends
            with stop.deferred():
                signal.raise_signal(signal.SIGINT)  # the request that started the save
                atomic_write(path, lambda stream: write(stream, 1))
        assert path.read_bytes() == b"half and the rest"
        path.write_bytes(b"previous")
        stop.requested, stop.count = None, 0
        with pytest.raises(TrainingStopped) as stopped:
            with stop.deferred():
                signal.raise_signal(signal.SIGINT)
                atomic_write(path, lambda stream: write(stream, 2))
    assert stopped.value.aborted
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"], "no half-written temporary file"


def test_an_error_inside_the_block_is_not_replaced_by_the_stop():
    with StopSignals() as stop:
        with pytest.raises(ValueError):
            with stop.deferred():
                signal.raise_signal(signal.SIGINT)
                raise ValueError("the loss became nan")


def test_handlers_are_restored_and_nothing_is_installed_unless_entered():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    idle = StopSignals()
    with idle.deferred():  # a session without a guard: a plain flag that is never set
        pass
    assert not idle.installed and (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with StopSignals() as stop:
        assert stop.installed and signal.getsignal(signal.SIGINT) == stop._handle
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def enter() -> None:
        with StopSignals() as stop:
            seen.append(stop.installed)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert seen == [False]


def test_other_ranks_stay_silent(logged):
    with StopSignals(announce=False) as stop:
        with pytest.raises(TrainingStopped):
            with stop.deferred():
                signal.raise_signal(signal.SIGINT)
    assert logged.records == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_ignores_the_signal_and_leaves_the_decision_to_the_trainer():
    with StopSignals() as stop:
        with stop.deferred():
            pid = os.fork()
            if pid == 0:  # the child: a DataLoader worker in real runs
                code = 1
                try:
                    signal.raise_signal(signal.SIGINT)
                    signal.raise_signal(signal.SIGTERM)
                    code = 0 if stop.requested is None and stop.count == 0 else 2
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stop.requested is None
