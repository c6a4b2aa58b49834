"""The command's console: one handler per run, level prefixes, -q/-v levels, warnings as one line."""

from __future__ import annotations

import io
import logging
import sys
import warnings

import pytest

from distillsr import console


def test_levels_and_prefixes(capsys):
    log = console.get_logger("distillsr.something")
    with console.configured(console.NORMAL):
        log.debug("hidden at the default level")
        log.info("a plain line")
        log.warning("careful")
        log.error("one item failed")
        log.critical("the run stopped")
    assert capsys.readouterr().err.splitlines() == [
        "a plain line",
        "warning: careful",
        "error: one item failed",
        "distillsr: error: the run stopped",
    ]


def test_quiet_shows_errors_only_and_verbose_adds_debug(capsys):
    log = console.get_logger(__name__)
    with console.configured(console.QUIET):
        log.info("info")
        log.warning("warning")
        log.error("error")
    assert capsys.readouterr().err == "error: error\n"
    with console.configured(console.VERBOSE):
        log.debug("detail")
    assert capsys.readouterr().err == "debug: detail\n"


def test_child_loggers_are_under_the_package_logger():
    assert console.get_logger("distillsr.api").name == "distillsr.api"
    assert console.get_logger("tests.x").name == "distillsr.tests.x"
    assert console.get_logger().name == "distillsr"


def test_state_is_restored_after_a_run(capsys):
    logger = logging.getLogger("distillsr")
    before = (logger.level, logger.propagate, list(logger.handlers), warnings.showwarning)
    with console.configured():
        assert len(logger.handlers) == 1
        warnings.warn("shown as one line", DeprecationWarning)
    assert (logger.level, logger.propagate, list(logger.handlers), warnings.showwarning) == before
    assert capsys.readouterr().err == "warning: shown as one line\n"


def test_lines_pass_over_a_progress_bar(capsys):
    from tqdm import tqdm

    with console.configured(), tqdm(total=3, file=None) as bar:
        bar.update(1)
        console.get_logger().info("between updates")
    assert "between updates\n" in capsys.readouterr().err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a user's console does."""

    def isatty(self) -> bool:
        return True


def test_progress_bars_are_for_a_terminal_and_not_for_quiet_runs(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # redirected: 2> log
    with console.configured(console.NORMAL):
        assert not console.progress_bars_allowed()
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with console.configured(console.NORMAL):
        assert console.progress_bars_allowed()
        with console.progress_bar(total=2, unit="img") as bar:
            bar.update(2)
        assert "2/2" in sys.stderr.getvalue()
        with console.progress_bar(total=2, enabled=False) as bar:  # the command's own --quiet
            assert bar.disable
    with console.configured(console.QUIET):
        assert not console.progress_bars_allowed(), "-q means errors only"
    assert console.progress_bars_allowed(), "library use: a terminal gets bars"


@pytest.mark.parametrize("stream", [io.StringIO, _Terminal], ids=["redirected", "terminal"])
def test_quiet_or_redirected_commands_draw_no_bars(tmp_path, monkeypatch, stream):
    """``distillsr -q eval ... 2> log`` and ``distillsr eval ... 2> log`` leave no progress bar in the log."""
    import numpy as np
    from PIL import Image

    from distillsr.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(np.full((16, 16, 3), 40 * index, np.uint8)).save(folder / f"{index}.png")
    log = stream()
    monkeypatch.setattr(sys, "stderr", log)
    quiet = ["-q"] if stream is _Terminal else []
    assert main([*quiet, "eval", "-m", "bicubic", "-d", str(folder), "-s", "2", "--no-cache"]) == 0
    assert "%|" not in log.getvalue() and "\r" not in log.getvalue()
    if quiet:
        assert log.getvalue() == "", "-q: errors only"
