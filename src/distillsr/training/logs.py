"""Training logs: a CSV file always, TensorBoard when it is installed, only on the main process;
and ``train.log``, the console's lines kept in the experiment folder.

``log.csv`` is for plotting (one row per logged iteration, one column per metric); ``train.log`` is
for reading afterwards what the run said: its header, every validation check, warnings, the stop
or the summary, with the time of each line. A resumed run appends to both.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from distillsr.console import ConsoleFormatter, get_logger
from distillsr.writable import describe_os_error


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


def loss_line(metrics: Mapping[str, float]) -> str:
    """``loss 0.0123 (l1 0.0123, l2 0.0004), lr 2.00e-04``: a log row's training values in one line."""
    parts = [f"loss {metrics['loss']:.4g}"]
    terms = [f"{key} {value:.4g}" for key, value in metrics.items() if key not in ("loss", "lr", "seconds")]
    if terms:
        parts[0] += f" ({', '.join(terms)})"
    if "lr" in metrics:
        parts.append(f"lr {metrics['lr']:.2e}")
    return ", ".join(parts)


class TextLogHandler(logging.Handler):
    """Appends each console line, with its time, to a text file.

    The file is opened for each line and the line written with one ``write`` in append mode: an
    interrupted run leaves whole lines behind, a resumed one continues the same file, and the
    folder may be created after the handler (it is made on the first line). A file that cannot be
    written (full disk, permissions) is said once on the console; the training goes on without it.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.failed = False
        self.setFormatter(ConsoleFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.record_line(self.format(record), record.created)

    def record_line(self, line: str, created: float | None = None) -> None:
        """Append ``line`` as it is (for a line the console shows outside the logger's reach)."""
        if self.failed:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
        text = "".join(f"{stamp} {part}\n" for part in line.splitlines() or [""])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as error:  # a full disk must not take the training down with it
            self.failed = True  # before logging: this handler receives the warning too
            get_logger(__name__).warning(f"{describe_os_error(error, 'cannot write')}; {self.path.name} stops here")


@contextlib.contextmanager
def text_log(path: Path, *, enabled: bool = True) -> Iterator[TextLogHandler | None]:
    """While entered, the ``distillsr`` logger's lines also go to ``path`` (what the console shows).

    ``enabled``: False on the ranks of a distributed run other than the main one, which write nothing.
    """
    if not enabled:
        yield None
        return
    handler = TextLogHandler(path)
    logger = get_logger()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
