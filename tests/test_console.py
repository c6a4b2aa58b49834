"""The command's console: one handler per run, level prefixes, -q/-v levels, warnings as one line."""

from __future__ import annotations

import logging
import warnings

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
