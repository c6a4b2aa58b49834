"""Training logs: a CSV file always, TensorBoard when it is installed, only on the main process."""

from __future__ import annotations

import csv
from pathlib import Path


class TrainingLog:
    """Append rows of metrics; columns grow as new metrics appear (the CSV is rewritten then)."""

    def __init__(self, folder: Path, *, tensorboard: bool = True, enabled: bool = True) -> None:
        self.enabled = enabled
        self.path = folder / "log.csv"
        self.columns: list[str] = []
        self.rows: list[dict] = []
        self.writer = None
        if not enabled:
            return
        folder.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # resuming: keep what was logged
            with open(self.path, newline="") as stream:
                reader = csv.DictReader(stream)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(folder / "tensorboard"))
            except Exception:  # tensorboard not installed: CSV only
                self.writer = None

    def drop_after(self, stage: int, iteration: int) -> None:
        """Forget rows a resumed run will log again (written after the checkpoint it resumes from)."""
        self.rows = [r for r in self.rows if (int(r["stage"]), int(r["iteration"])) <= (stage, iteration)]
        if self.enabled and self.columns:
            self._write(rewrite=True)

    def log(self, stage: int, iteration: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"stage": stage, "iteration": iteration, **metrics}
        self.rows.append(row)
        new = [key for key in row if key not in self.columns]
        self.columns.extend(new)
        self._write(rewrite=bool(new) or len(self.rows) == 1)
        if self.writer is not None:
            for key, value in metrics.items():
                self.writer.add_scalar(f"stage{stage}/{key}", value, iteration)

    def _write(self, rewrite: bool) -> None:
        if rewrite or not self.path.exists():
            with open(self.path, "w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=self.columns)
                writer.writeheader()
                writer.writerows(self.rows)
        else:
            with open(self.path, "a", newline="") as stream:
                csv.DictWriter(stream, fieldnames=self.columns).writerow(self.rows[-1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
