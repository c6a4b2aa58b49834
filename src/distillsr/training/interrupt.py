"""Ctrl-C (SIGINT) and SIGTERM stop a training run without losing it: the signal becomes a request.

Python's default turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread happens
to be — between ``backward()`` and ``optimizer.step()``, between the step and the EMA update — so
nothing saved from there could resume bit-identically, and the quick recipes, which save only at
the end, lost the whole run. While a stage trains (inside :meth:`StopSignals.deferred`) a signal
therefore only records a request; the loop polls it after each completed iteration, saves a
training state of that iteration and raises :class:`TrainingStopped`. Outside ``deferred()``
(loading data, folding, writing the final model) nothing is half-done that a state could keep, so
a signal stops the run at once; the newest state on disk is where it resumes.

A second signal while stopping only says that the state is still being saved; a third aborts the
save. State files are written atomically (:mod:`distillsr.atomic`), so an abort leaves the
previous state intact, never a half-written one.

DataLoader workers are forked from the training process and inherit its Python signal handler;
a terminal's Ctrl-C reaches them too. They ignore it: the training process decides, and shuts
them down when it stops. Under ``torchrun`` every rank gets the signal (the terminal sends it to
the whole process group and the agent forwards it once more); the ranks agree on the iteration to
stop at through :func:`distillsr.training.distributed.agreed_signal`, and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

from distillsr.console import get_logger

log = get_logger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
ABORT_AT = 3
"""The signal count that aborts a save in progress (the first asks to stop, the second is told to wait)."""


def signal_name(signum: int) -> str:
    """``SIGINT``, ``SIGTERM``, ... (the number when Python has no name for it)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class TrainingStopped(KeyboardInterrupt):
    """A run stopped by a signal. A ``KeyboardInterrupt``, so code that cleans up after Ctrl-C does so.

    ``iteration`` and ``stage`` say where a state was saved for this stop (``saved``); without one
    the newest state on disk (if any) is where a resume continues. ``aborted``: a repeated signal
    cut a save short.
    """

    def __init__(
        self, signum: int, *, saved: bool = False, aborted: bool = False, iteration: int | None = None
    ) -> None:
        super().__init__(signal_name(signum))
        self.signum = int(signum)
        self.saved = saved
        self.aborted = aborted
        self.iteration = iteration

    @property
    def exit_code(self) -> int:
        """The shell's convention for death by a signal: 130 for SIGINT, 143 for SIGTERM.

        Schedulers (SLURM, Kubernetes) and shell scripts read 143 as "terminated on request", so
        SIGTERM keeps its own code instead of sharing SIGINT's 130.
        """
        return 128 + self.signum


class StopSignals:
    """While entered, ``signals`` set :attr:`requested` instead of killing the process.

    Not entered (a library caller that trains in a thread, a test), it installs nothing and
    :attr:`requested` stays None, so a :class:`TrainingSession` can always hold one. Handlers can
    only be installed from the main thread; elsewhere entering is a no-op for the same reason.
    """

    def __init__(self, signals: Sequence[int] = STOP_SIGNALS, *, announce: bool = True) -> None:
        self.signals = tuple(signals)
        self.announce = announce  # only rank 0 talks under torchrun
        self.requested: int | None = None
        self.count = 0
        self._deferring = False
        self._previous: dict[int, Any] = {}
        self._owner = os.getpid()

    def __enter__(self) -> StopSignals:
        self._owner = os.getpid()
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[StopSignals]:
        """Within: a signal is only a request, which the body must honour at its next safe point.

        A request that arrives after the body's last poll would otherwise be forgotten (and the
        run would go on to its next stage), so leaving the block normally with a request pending
        stops the run here.
        """
        outer = self._deferring
        self._deferring = True
        try:
            yield self
        finally:
            self._deferring = outer
        if self.requested is not None and not outer:
            raise TrainingStopped(self.requested)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._owner:
            return  # a forked DataLoader worker: the training process decides, and ends it
        self.count += 1
        if self.requested is None:
            self.requested = signum
        name = signal_name(signum)
        if not self._deferring:
            raise TrainingStopped(signum)
        if self.count >= ABORT_AT:
            self._say("warning", f"{name} again: stopping without saving; the previous training state is kept")
            raise TrainingStopped(signum, aborted=True)
        if self.count == 1:
            self._say("info", f"{name}: finishing the current iteration, then saving the training state and stopping")
        else:
            self._say(
                "warning",
                f"{name} again: still finishing the iteration and saving the training state; "
                "one more signal stops without saving it",
            )

    def _say(self, level: str, message: str) -> None:
        if self.announce:
            getattr(log, level)(message)
