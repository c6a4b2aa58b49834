"""Where ``distillsr upscale`` writes: output names, and the outputs it refuses to write.

The promises kept here, before any pixel is computed:

* **Inputs are never touched.** An output that would land on any input of the run (same file,
  whatever the path spelling) is refused, with a message.
* **Nothing is written outside the output folder**: suffixes cannot hold path separators, and a
  symlinked subfolder that leads out of it is refused.
* **Two inputs never share one output**: the second is refused and names the first.
* **An output folder that cannot be written** (a file in its path, a read-only disk) stops the
  run in one line before the model is loaded, not after.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distillsr import writable
from distillsr.commands.upscale.inputs import INPUT_SUFFIXES, Source, is_inside
from distillsr.errors import DistillsrError

# What ``--format`` accepts, mapped to the suffix written (None: keep the input's own).
FORMATS: dict[str, str | None] = {
    "png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "same": None, "auto": None,
}
# Suffixes ``same`` can keep: those write_image writes. Others (GIF, PPM/PGM) become PNG.
_KEEPABLE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class OutputOptions:
    """How output files are named and encoded."""

    folder: Path
    suffix: str = ""
    format: str = "png"  # a key of FORMATS
    quality: int = 95  # JPEG and WEBP only
    overwrite: bool = False
    png_compression: int = 1  # zlib level, PNG only (distillsr.imaging.write.PNG_COMPRESSION)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise DistillsrError(f"output format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        separators = {"/", "\\", os.sep, os.altsep or "/"}
        if any(s in self.suffix for s in separators) or "\0" in self.suffix:
            raise DistillsrError(f"--suffix {self.suffix!r} must not contain path separators")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100:
            raise DistillsrError(f"quality must be an integer from 1 to 100, not {self.quality!r}")


@dataclass(frozen=True)
class Job:
    """One input, its output path, and why it is refused (None: it can run)."""

    source: Path
    name: str  # the input as the user would recognise it, for messages
    target: Path
    problem: str | None = None


def check_output_folder(folder: Path) -> None:
    """Refuse an ``-o`` that is a file, looks like an image name, or cannot be written.

    ``-o`` takes a folder, and a name like ``result.png`` is almost always a user expecting a
    file. The write probe (:func:`distillsr.writable.check_output_folder`) finds a read-only
    disk or a file in the path now, while the run has cost nothing.
    """
    if folder.exists() and not folder.is_dir():
        raise DistillsrError(f"output '{folder}' is a file; -o takes a folder")
    if not folder.exists() and folder.suffix.lower() in INPUT_SUFFIXES:
        raise DistillsrError(f"output '{folder}' looks like a file name; -o takes a folder (it is created)")
    writable.check_output_folder(folder)


def plan_jobs(sources: Sequence[Source], options: OutputOptions) -> list[Job]:
    """Output paths for every input; outputs that would hit an input or each other are refused."""
    inputs = {_file_id(source.path) for source in sources} - {None}
    claimed: dict[str, str] = {}
    jobs = []
    for source in sources:
        name = str(source.path)
        target = output_path(source, options)
        key = os.path.normcase(os.path.abspath(target))
        problem = None
        if _file_id(target) in inputs:
            problem = f"its output {target} would replace an input; choose another -o folder or a --suffix"
        elif key in claimed:
            problem = (
                f"its output {target} would also be written from {claimed[key]}; "
                "use --format same, or name their common folder with -r so subfolders are kept"
            )
        elif not is_inside(target.parent, options.folder):
            problem = f"its output {target} would be outside the output folder (a symlinked subfolder?)"
        claimed.setdefault(key, name)
        jobs.append(Job(source.path, name, target, problem))
    return jobs


def output_path(source: Source, options: OutputOptions) -> Path:
    """``folder / <subfolders below the input root> / <stem><suffix><extension>``."""
    relative = Path(".")
    if source.root is not None:
        relative = source.path.parent.relative_to(source.root) if source.path.is_relative_to(source.root) else relative
    extension = FORMATS[options.format] or _kept_suffix(source.path)
    return options.folder / relative / f"{source.path.stem}{options.suffix}{extension}"


def _kept_suffix(path: Path) -> str:
    return path.suffix if path.suffix.lower() in _KEEPABLE_SUFFIXES else ".png"


def _file_id(path: Path) -> tuple[int, int] | None:
    """Device and inode: equal for one file under any spelling (links, case-insensitive disks)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
