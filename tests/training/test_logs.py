"""Training logs: CSV rows whose columns grow, and the rows a resumed run drops and logs again."""

from __future__ import annotations

import csv

from distillsr.training.logs import TrainingLog


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
