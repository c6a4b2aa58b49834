"""Running the jobs of ``distillsr upscale`` one file at a time.

* **One bad file does not stop the rest.** Each file's failure (a corrupt input, an image too
  small for the model) becomes one error line and is counted; the caller decides the exit code
  from the :class:`Summary`.
* **A full or read-only disk does stop the rest.** Such a write error will hit every later file
  too, so computing them is wasted time: the run stops at the first one and says how many images
  were left (:attr:`Summary.stopped`).
* **Existing outputs are kept** unless ``overwrite``, so an interrupted run can simply be rerun.
* **Pixels stay what they were**: grey, alpha, 16 bits and the ICC profile go through (the
  :class:`~distillsr.inference.session.UpscaleSession` keeps the layout); where the chosen format
  cannot hold something (alpha in JPEG/BMP, 16 bits in JPEG/WEBP, grey in WEBP) the change is
  made and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from distillsr.commands.upscale.inputs import Report
from distillsr.commands.upscale.outputs import Job, OutputOptions
from distillsr.errors import DistillsrError
from distillsr.imaging.read import read_image_with_info
from distillsr.imaging.write import write_image
from distillsr.imaging.pixel_formats import flatten_alpha, format_name, holds_16bit, holds_alpha, to_8bit
from distillsr.writable import SYSTEMIC_WRITE_ERRORS

if TYPE_CHECKING:
    from distillsr.inference.session import UpscaleSession


@dataclass
class Summary:
    """What happened to the files of a run; ``failed`` and ``stopped`` decide the exit code."""

    upscaled: int = 0
    skipped: int = 0
    failed: int = 0
    stopped: str | None = None  # why the run stopped before its last image (None: it did not)

    def __str__(self) -> str:
        return f"{self.upscaled} upscaled, {self.skipped} skipped (exists), {self.failed} failed"


@dataclass(frozen=True)
class RunSettings:
    """Per-file choices beyond naming: alpha mode and the output options (the output scale is the session's)."""

    options: OutputOptions
    alpha: str = "bicubic"


class SystemicWriteError(Exception):
    """A write failed in a way every later write will too (disk full, read-only, no permission)."""

    def __init__(self, target: Path, error: OSError) -> None:
        super().__init__(f"cannot write {target}: {error.strerror or error}")
        self.target = target
        self.error = error


def run_jobs(
    jobs: Sequence[Job],
    session: UpscaleSession,
    settings: RunSettings,
    report: Report,
    *,
    progress: bool = False,
) -> Summary:
    """Upscale every job, one failure at a time: errors are reported and counted, never raised.

    Only user-level failures (:class:`DistillsrError`, OS and memory errors) are contained; a bug
    still raises with its traceback, and Ctrl-C stops the run (finished files stay complete). A
    systemic write error ends the loop: the failing file counts as failed, and
    :attr:`Summary.stopped` says why and how many images were not done.
    """
    from distillsr.console import progress_bar

    summary = Summary()
    bar = progress_bar(jobs, unit="image", enabled=progress and len(jobs) > 1)
    for index, job in enumerate(bar):
        try:
            outcome = _run_job(job, session, settings, report)
        except SystemicWriteError as error:
            summary.failed += 1
            summary.stopped = f"{error}; stopped with {len(jobs) - index - 1} image(s) not done"
            break
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    bar.close()
    return summary


def _run_job(job: Job, session: UpscaleSession, settings: RunSettings, report: Report) -> str:
    if job.problem is not None:
        report("error", job.name, job.problem)
        return "failed"
    if job.target.exists() and not settings.options.overwrite:
        return "skipped"
    try:
        upscale_file(job, session, settings, lambda message: report("note", job.name, message))
    except (DistillsrError, OSError, MemoryError) as error:
        report("error", job.name, _reason(error, job.source))
        return "failed"
    return "upscaled"


def upscale_file(job: Job, session: UpscaleSession, settings: RunSettings, note: Callable[[str], None]) -> None:
    """Read, upscale and write one file, telling ``note`` about every change to its pixels.

    Raises :class:`SystemicWriteError` when writing fails for a reason the next file shares.
    """
    decoded = read_image_with_info(job.source)
    for message in decoded.notes:
        note(message)
    suffix = job.target.suffix
    fmt = format_name(suffix)
    pixels = decoded.pixels
    if pixels.ndim == 3 and pixels.shape[2] == 4 and not holds_alpha(suffix):
        note(f"alpha flattened onto white ({fmt} cannot store transparency)")
        pixels = flatten_alpha(pixels)  # before upscaling: no alpha plane to upscale for nothing
    out = session.upscale(pixels, settings.alpha)
    if out.dtype == np.uint16 and not holds_16bit(suffix, out):
        note(f"16-bit result written as 8-bit ({fmt} output cannot hold 16 bits here; use --format png)")
        out = to_8bit(out)
    profile = decoded.icc_profile
    if out.ndim == 2 and fmt == "WEBP":
        note("written as RGB (WEBP has no greyscale mode)" + (", without its grey ICC profile" if profile else ""))
        profile = None
    try:
        write_image(job.target, out, quality=settings.options.quality, icc_profile=profile,
                    png_compression=settings.options.png_compression)
    except (DistillsrError, OSError) as error:
        cause = systemic_cause(error)
        if cause is not None:
            raise SystemicWriteError(job.target, cause) from error
        raise


def systemic_cause(error: BaseException) -> OSError | None:
    """The OSError behind ``error`` (itself, or what write_image wrapped) when it is systemic."""
    for candidate in (error, error.__cause__):
        if isinstance(candidate, OSError) and candidate.errno in SYSTEMIC_WRITE_ERRORS:
            return candidate
    return None


def _reason(error: BaseException, source: Path) -> str:
    """The error's message without a leading repetition of the file name the line starts with."""
    if isinstance(error, MemoryError):
        return "out of memory; use a smaller --tile or another device"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    message = " ".join(str(error).split())
    return message.replace(f"cannot read image '{source}': ", "cannot read image: ", 1)
