"""What the ``distillsr`` command shows on its console: one logging handler, set up once per run.

Results a user may pipe (score tables, the resolved recipe, JSON) are printed to stdout by the
commands; everything else — headers, notes, per-file errors, warnings — goes through the
``distillsr`` logger to stderr, so ``-q`` and ``-v`` govern all of it in one place:

=========  =========================  ==========================================
verbosity  shown                      prefix
=========  =========================  ==========================================
``-q``     errors                     ``error: `` (per item), ``distillsr: error: `` (the run stopped)
default    + warnings, progress notes ``warning: ``; info lines as they are
``-v``     + debug detail             ``debug: ``
=========  =========================  ==========================================

Python warnings raised while a command runs (ours and third parties': PyTorch, Pillow, ONNX) are
shown as one ``warning:`` line instead of Python's two-line "file:line: Category: message /
source line" block, which looks like a crash to someone who did not write the code. Library use
(``import distillsr``) configures nothing: logging and warnings stay the application's business.

Progress bars (tqdm) are made by :func:`progress_bar` only: they are drawn when stderr is a terminal
and the run is not ``-q``. A bar is a line redrawn with carriage returns; written to a log file
(``2> log``) it leaves hundreds of half-lines there, and ``-q`` promises errors only.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

LOGGER_NAME = "distillsr"
QUIET, NORMAL, VERBOSE = -1, 0, 1
FATAL = logging.CRITICAL  # a record at this level means "the command stopped"

_PREFIXES = {
    logging.DEBUG: "debug: ",
    logging.INFO: "",
    logging.WARNING: "warning: ",
    logging.ERROR: "error: ",
    logging.CRITICAL: "distillsr: error: ",
}
_LEVELS = {QUIET: logging.ERROR, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_verbosity: int | None = None  # the running command's -q/-v (None: library use, nothing configured)


def get_logger(name: str | None = None) -> logging.Logger:
    """The package's logger, or a child of it (``get_logger(__name__)`` in a module)."""
    if not name or name == LOGGER_NAME:
        return logging.getLogger(LOGGER_NAME)
    return logging.getLogger(name if name.startswith(LOGGER_NAME + ".") else f"{LOGGER_NAME}.{name}")


class ConsoleFormatter(logging.Formatter):
    """The message after a prefix that says what kind of line it is (``warning:``, ``error:``)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = _PREFIXES.get(record.levelno, f"{record.levelname.lower()}: ")
        return prefix + record.getMessage()


class ConsoleHandler(logging.Handler):
    """Writes to the current ``sys.stderr``, past any tqdm progress bar so the bar does not tear.

    The stream is looked up at each record, not bound once, so pytest's capture and a caller's
    redirection of ``sys.stderr`` both see the lines.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream: TextIO = sys.stderr
            tqdm_module = sys.modules.get("tqdm")
            if tqdm_module is not None:
                tqdm_module.tqdm.write(line, file=stream)
            else:
                stream.write(line + "\n")
                stream.flush()
        except Exception:  # noqa: BLE001 - logging must never take the program down
            self.handleError(record)


def _show_warning_as_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` replacement: the message's first line, as a ``warning:`` record."""
    text = str(message).strip().splitlines()
    get_logger("warnings").warning(text[0] if text else category.__name__)


@contextlib.contextmanager
def configured(verbosity: int = NORMAL) -> Iterator[logging.Logger]:
    """Console logging for one command run; restores the previous state afterwards.

    Restoring matters because the CLI is also called in-process (tests, ``distillsr.cli.main``
    from a script): a second run must not add a second handler or keep the first run's level.
    """
    global _verbosity
    logger = get_logger()
    handler = ConsoleHandler()
    handler.setFormatter(ConsoleFormatter())
    previous_level, previous_propagate = logger.level, logger.propagate
    previous_show, previous_verbosity = warnings.showwarning, _verbosity
    _verbosity = verbosity
    logger.addHandler(handler)
    logger.setLevel(_LEVELS[max(QUIET, min(VERBOSE, verbosity))])
    logger.propagate = False
    warnings.showwarning = _show_warning_as_line
    try:
        yield logger
    finally:
        warnings.showwarning = previous_show
        _verbosity = previous_verbosity
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate


def progress_bars_allowed() -> bool:
    """Whether a progress bar may be drawn now: stderr is a terminal, and the command is not ``-q``."""
    if _verbosity is not None and _verbosity <= QUIET:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):  # no stream, or a closed one
        return False


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> Any:
    """A tqdm bar on stderr, disabled unless ``enabled`` (a command's own ``--quiet``) and
    :func:`progress_bars_allowed`; ``options`` are tqdm's (``total``, ``unit``, ``desc``, ...).

    The one place bars are made, so every command's bars obey the terminal and ``-q`` alike.
    """
    from tqdm import tqdm

    return tqdm(iterable, disable=not (enabled and progress_bars_allowed()), file=sys.stderr, **options)
