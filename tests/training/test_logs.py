"""Training logs: CSV rows whose columns grow, the rows a resumed run drops and logs again, and train.log."""

from __future__ import annotations

import csv
import logging
import re

import pytest

from distillsr.console import get_logger
from distillsr.training.logs import TextLogHandler, TrainingLog, loss_line, text_log


def _rows(path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_rows_are_written_as_they_come_and_new_columns_rewrite_the_header(tmp_path):
    log = TrainingLog(tmp_path / "run", tensorboard=False)
    log.log(0, 2, {"loss": 0.5, "lr": 1e-3})
    log.log(0, 4, {"loss": 0.25, "lr": 1e-3})
    assert (tmp_path / "run" / "log.csv").read_text().splitlines() == [
        "stage,iteration,loss,lr", "0,2,0.5,0.001", "0,4,0.25,0.001",
    ]
    log.log(0, 4, {"Set5_psnr_classic": 30.5})
    rows = _rows(tmp_path / "run" / "log.csv")
    assert list(rows[0]) == ["stage", "iteration", "loss", "lr", "Set5_psnr_classic"]
    assert [r["Set5_psnr_classic"] for r in rows] == ["", "", "30.5"]
    log.close()


def test_a_resumed_log_drops_the_rows_after_the_state_and_appends_after_them(tmp_path):
    first = TrainingLog(tmp_path, tensorboard=False)
    for stage, iteration in [(0, 2), (0, 4), (0, 6), (1, 2), (1, 4)]:
        first.log(stage, iteration, {"loss": float(iteration)})
    first.close()
    resumed = TrainingLog(tmp_path, tensorboard=False)  # reads what was logged
    assert len(resumed.rows) == 5
    resumed.drop_after(0, 4)  # the state it resumes from: stage 0, iteration 4
    assert [(r["stage"], r["iteration"]) for r in _rows(tmp_path / "log.csv")] == [("0", "2"), ("0", "4")]
    resumed.log(0, 6, {"loss": 6.5})
    rows = [(r["iteration"], r["loss"]) for r in _rows(tmp_path / "log.csv")]
    assert rows == [("2", "2.0"), ("4", "4.0"), ("6", "6.5")]


def test_drop_after_orders_by_stage_first(tmp_path):
    log = TrainingLog(tmp_path, tensorboard=False)
    for stage, iteration in [(0, 100), (1, 2), (1, 8)]:
        log.log(stage, iteration, {"loss": 1.0})
    log.drop_after(1, 4)
    assert [(r["stage"], r["iteration"]) for r in _rows(tmp_path / "log.csv")] == [("0", "100"), ("1", "2")]


def test_a_disabled_log_creates_nothing(tmp_path):
    log = TrainingLog(tmp_path / "rank1", tensorboard=False, enabled=False)
    log.log(0, 1, {"loss": 1.0})
    log.drop_after(0, 0)
    log.close()
    assert not (tmp_path / "rank1").exists()


def test_a_loss_line_shows_the_total_its_terms_and_the_rate():
    assert loss_line({"loss": 0.0123456, "l1": 0.01, "l2": 0.0023456, "lr": 2e-4, "seconds": 3.0}) == (
        "loss 0.01235 (l1 0.01, l2 0.002346), lr 2.00e-04"
    )
    assert loss_line({"loss": 1.0}) == "loss 1"


STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture
def console_level():
    """The package logger at INFO, as ``distillsr`` sets it for a command."""
    logger = get_logger()
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(previous)


def test_train_log_keeps_the_console_lines_and_a_resume_appends(tmp_path, console_level):
    path = tmp_path / "run" / "train.log"  # the folder is made on the first line
    log = get_logger("distillsr.training")
    with text_log(path):
        log.info("[stage0-train 2/4] Set5 PSNR 30.00 dB SSIM 0.9000 (classic)")
        log.warning("skipping 1 image(s)")
        log.debug("not shown on the console, not kept")
    log.info("after the run: not kept")
    with text_log(path) as handler:  # the resumed run
        assert isinstance(handler, TextLogHandler)
        log.info("resumed")
        handler.record_line("distillsr: error: stopped")
    lines = path.read_text().splitlines()
    assert all(STAMP.match(line) for line in lines)
    assert [STAMP.sub("", line) for line in lines] == [
        "[stage0-train 2/4] Set5 PSNR 30.00 dB SSIM 0.9000 (classic)",
        "warning: skipping 1 image(s)",
        "resumed",
        "distillsr: error: stopped",
    ]
    assert not any(isinstance(h, TextLogHandler) for h in console_level.handlers), "detached after the run"


def test_other_ranks_keep_no_train_log(tmp_path, console_level):
    with text_log(tmp_path / "train.log", enabled=False) as handler:
        get_logger("distillsr.training").info("rank 1")
    assert handler is None and not (tmp_path / "train.log").exists()


def test_an_unwritable_train_log_is_said_once_and_the_run_goes_on(tmp_path, console_level, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.INFO, logger="distillsr"), text_log(blocker / "train.log"):
        get_logger("distillsr.training").info("one")
        get_logger("distillsr.training").info("two")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("cannot write ") and "train.log stops here" in warnings[0]
