"""Upscaling many image files: which files, where their outputs go, and one file at a time.

This is the file-handling half of ``distillsr upscale`` (the command itself only parses flags
and prints). It keeps the promises a batch tool must keep:

* **Inputs are never touched.** An output that would land on any input of the run (same file,
  whatever the path spelling) is refused, with a message; nothing is ever written outside the
  output folder (suffixes cannot hold path separators; symlinked subfolders that lead out of it
  are refused).
* **One bad file does not stop the rest.** Each file's failure becomes one error line and is
  counted; the caller decides the exit code from the :class:`Summary`.
* **Existing outputs are kept** unless ``overwrite``, so an interrupted run can simply be rerun.
* **Pixels stay what they were**: grey, alpha, 16 bits and the ICC profile go through (the
  :class:`~distillsr.inference.upscaler.Upscaler` keeps the layout); where the chosen format
  cannot hold something (alpha in JPEG/BMP, 16 bits in JPEG/WEBP, grey in WEBP) the change is
  made and reported.

Input folders keep their structure below the folder named (``-i photos -r`` writes
``out/trip/a.png`` for ``photos/trip/a.png``), so equal names in different folders cannot collide.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.imaging.io import IMAGE_SUFFIXES, read_image_with_info, write_image

if TYPE_CHECKING:
    from distillsr.inference.upscaler import Upscaler

# Folder and glob listings pick these up; a file named explicitly is tried whatever its suffix.
INPUT_SUFFIXES: tuple[str, ...] = (*IMAGE_SUFFIXES, ".gif")
# What ``--format`` accepts, mapped to the suffix written (None: keep the input's own).
FORMATS: dict[str, str | None] = {
    "png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "same": None, "auto": None,
}
# Suffixes ``same`` can keep: those write_image writes. Others (GIF, PPM/PGM) become PNG.
_KEEPABLE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
_GLOB_CHARACTERS = frozenset("*?[")
# Formats whose files cannot keep an alpha channel (Pillow's BMP writer drops it).
_NO_ALPHA_FORMATS = frozenset({"JPEG", "BMP"})

Report = Callable[[Literal["note", "error"], str, str], None]  # (kind, file as the user named it, message)


# --------------------------------------------------------------------------------------------------
# Which files
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """An input file and the folder its output path is taken relative to (None: flat)."""

    path: Path
    root: Path | None = None


def collect_inputs(
    specs: Sequence[str],
    *,
    recursive: bool = False,
    exclude: Path | None = None,
    report: Report | None = None,
) -> list[Source]:
    """Files, folders and glob patterns to a de-duplicated list of input files, in order.

    Globs are expanded here so that quoted patterns work the same on every shell (``**`` matches
    subfolders). A path that does not exist is an error before any work starts: it is usually a
    typo, and finding out after an hour of upscaling helps nobody. ``exclude`` (the output folder)
    is left out of listings, so rerunning into a folder inside an input folder does not upscale
    the previous outputs.
    """
    sources: list[Source] = []
    for spec in specs:
        found = _expand(spec, recursive, exclude)
        if not found and report is not None:
            hint = " (use -r to include subfolders)" if Path(spec).is_dir() and not recursive else ""
            report("note", spec, f"no images found{hint}")
        sources.extend(found)
    unique = _unique(sources)
    if not unique:
        raise DistillsrError("no input images found" + ("" if recursive else " (use -r to search subfolders)"))
    return unique


def _expand(spec: str, recursive: bool, exclude: Path | None) -> list[Source]:
    path = Path(spec)
    if path.is_file():
        return [Source(path)]
    if path.is_dir():
        return [Source(file, path) for file in _list_folder(path, recursive, _below(exclude, path))]
    if _is_glob(spec):
        root = _glob_root(spec)
        exclude = _below(exclude, root)
        matches = sorted(glob.glob(spec, recursive=True))
        return [Source(Path(m), root) for m in matches if _is_listed(Path(m)) and not _inside(Path(m), exclude)]
    raise DistillsrError(f"input '{spec}' does not exist")


def _below(exclude: Path | None, root: Path) -> Path | None:
    """``exclude`` only where it lies strictly inside ``root``: an output folder that *is* the
    input folder (or holds it) must not hide the very files the user pointed at."""
    if exclude is None or _inside(root, exclude):
        return None
    return exclude


def _is_glob(spec: str) -> bool:
    return any(character in spec for character in _GLOB_CHARACTERS)


def _glob_root(pattern: str) -> Path:
    """The folder part of a pattern before its first wildcard: outputs keep the path below it."""
    literal = []
    for part in Path(pattern).parts[:-1]:
        if _is_glob(part):
            break
        literal.append(part)
    return Path(*literal) if literal else Path(".")


def _is_listed(path: Path) -> bool:
    """Image files by suffix; hidden files are OS metadata or in-progress writes, never inputs."""
    return not path.name.startswith(".") and path.suffix.lower() in INPUT_SUFFIXES and path.is_file()


def _list_folder(folder: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    if not recursive:
        return sorted((entry for entry in folder.iterdir() if _is_listed(entry)), key=lambda p: p.name)
    files = []
    for top, folders, names in os.walk(folder):
        # hidden folders (.git, .cache) and the output folder are not searched; sorted for a stable order
        folders[:] = sorted(f for f in folders if not f.startswith(".") and not _inside(Path(top, f), exclude))
        files.extend(Path(top, name) for name in sorted(names) if _is_listed(Path(top, name)))
    return files


def _inside(path: Path, folder: Path | None) -> bool:
    """Whether ``path`` is ``folder`` or below it, after resolving symlinks and ``..``."""
    if folder is None:
        return False
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _unique(sources: Iterable[Source]) -> list[Source]:
    """The same file named twice (a folder and a glob overlap) is upscaled once."""
    seen: set[str] = set()
    unique = []
    for source in sources:
        key = os.path.normcase(os.path.realpath(source.path))
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique


# --------------------------------------------------------------------------------------------------
# Where outputs go
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputOptions:
    """How output files are named and encoded."""

    folder: Path
    suffix: str = ""
    format: str = "png"  # a key of FORMATS
    quality: int = 95  # JPEG and WEBP only
    overwrite: bool = False

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
    """Refuse an ``-o`` that is a file, or that looks like an image name (``-o`` takes a folder)."""
    if folder.exists() and not folder.is_dir():
        raise DistillsrError(f"output '{folder}' is a file; -o takes a folder")
    if not folder.exists() and folder.suffix.lower() in INPUT_SUFFIXES:
        raise DistillsrError(f"output '{folder}' looks like a file name; -o takes a folder (it is created)")


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
        elif not _inside(target.parent, options.folder):
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


# --------------------------------------------------------------------------------------------------
# Pixels
# --------------------------------------------------------------------------------------------------


def output_size(height: int, width: int, outscale: float) -> tuple[int, int]:
    """MATLAB's rule, ``ceil(scale * size)`` with float noise removed, as imresize uses."""
    from distillsr.imaging.resize import output_size as matlab_size

    return matlab_size((height, width), outscale)


def upscale_pixels(
    upscaler: Upscaler, pixels: np.ndarray, outscale: float | None = None, *, alpha: str = "bicubic"
) -> np.ndarray:
    """The model's upscale of ``pixels``, resized with MATLAB bicubic when ``outscale`` differs.

    The resize is Real-ESRGAN's ``--outscale`` behaviour: a x4 model can deliver x2 or x3 output
    at the quality of its x4 result. Integer pixels are rounded after each pass, as MATLAB does.
    """
    out = upscaler.upscale_array(pixels, alpha=alpha)
    if outscale is None or math.isclose(outscale, upscaler.scale):
        return out
    from distillsr.imaging.resize import imresize

    height, width = pixels.shape[:2]
    return imresize(out, size=output_size(height, width, outscale))


def flatten_alpha(pixels: np.ndarray) -> np.ndarray:
    """RGBA onto white: what a viewer shows, and what a format without alpha can store."""
    maxval = float(np.iinfo(pixels.dtype).max)
    colour = pixels[..., :3].astype(np.float64)
    coverage = pixels[..., 3:].astype(np.float64) / maxval
    flat = colour * coverage + maxval * (1.0 - coverage)
    return np.floor(flat + 0.5).astype(pixels.dtype)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """16-bit to 8-bit by rounding (x / 257), the exact inverse of 8-bit to 16-bit widening."""
    return np.floor(pixels.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)


def _holds_16bit(suffix: str, pixels: np.ndarray) -> bool:
    """PNG holds every 16-bit layout; write_image writes 16-bit TIFF for grey only."""
    suffix = suffix.lower()
    return suffix == ".png" or (suffix in (".tif", ".tiff") and pixels.ndim == 2)


_FORMAT_NAMES = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}


def _format_name(suffix: str) -> str:
    """The format's name for messages ("JPEG" for .jpg); the suffix is what write_image goes by."""
    return _FORMAT_NAMES.get(suffix.lower(), suffix.lstrip(".").upper())


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What happened to the files of a run; ``failed`` decides the exit code."""

    upscaled: int = 0
    skipped: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.upscaled} upscaled, {self.skipped} skipped (exists), {self.failed} failed"


@dataclass(frozen=True)
class RunSettings:
    """Per-file choices beyond naming: output scale, alpha mode, and the output options."""

    options: OutputOptions
    outscale: float | None = None
    alpha: str = "bicubic"


def run_jobs(
    jobs: Sequence[Job],
    upscaler: Upscaler,
    settings: RunSettings,
    report: Report,
    *,
    progress: bool = False,
) -> Summary:
    """Upscale every job, one failure at a time: errors are reported and counted, never raised.

    Only user-level failures (:class:`DistillsrError`, OS and memory errors) are contained; a bug
    still raises with its traceback, and Ctrl-C stops the run (finished files stay complete).
    """
    from tqdm import tqdm

    summary = Summary()
    bar = tqdm(jobs, unit="image", disable=not progress or len(jobs) <= 1)
    for job in bar:
        outcome = _run_job(job, upscaler, settings, report)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _run_job(job: Job, upscaler: Upscaler, settings: RunSettings, report: Report) -> str:
    if job.problem is not None:
        report("error", job.name, job.problem)
        return "failed"
    if job.target.exists() and not settings.options.overwrite:
        return "skipped"
    try:
        settle_auto_tile(upscaler)
        upscale_file(job, upscaler, settings, lambda message: report("note", job.name, message))
    except (DistillsrError, OSError, MemoryError) as error:
        report("error", job.name, _reason(error, job.source))
        return "failed"
    return "upscaled"


def settle_auto_tile(upscaler: Upscaler) -> None:
    """Measure the ``auto`` tile size once per run instead of once per image.

    The engine probes the model's memory use for ``auto`` on every call, which takes seconds on a
    CPU; the answer does not change between the images of a run.
    """
    if upscaler.settings.tile == "auto":
        upscaler.settings.tile = upscaler.auto_tile(upscaler.model.in_channels or 3)


def upscale_file(job: Job, upscaler: Upscaler, settings: RunSettings, note: Callable[[str], None]) -> None:
    """Read, upscale and write one file, telling ``note`` about every change to its pixels."""
    decoded = read_image_with_info(job.source)
    for message in decoded.notes:
        note(message)
    suffix = job.target.suffix
    fmt = _format_name(suffix)
    pixels = decoded.pixels
    if pixels.ndim == 3 and pixels.shape[2] == 4 and fmt in _NO_ALPHA_FORMATS:
        note(f"alpha flattened onto white ({fmt} cannot store transparency)")
        pixels = flatten_alpha(pixels)  # before upscaling: no alpha plane to upscale for nothing
    out = upscale_pixels(upscaler, pixels, settings.outscale, alpha=settings.alpha)
    if out.dtype == np.uint16 and not _holds_16bit(suffix, out):
        note(f"16-bit result written as 8-bit ({fmt} output cannot hold 16 bits here; use --format png)")
        out = to_8bit(out)
    profile = decoded.icc_profile
    if out.ndim == 2 and fmt == "WEBP":
        note("written as RGB (WEBP has no greyscale mode)" + (", without its grey ICC profile" if profile else ""))
        profile = None
    write_image(job.target, out, quality=settings.options.quality, icc_profile=profile)


def _reason(error: BaseException, source: Path) -> str:
    """The error's message without a leading repetition of the file name the line starts with."""
    if isinstance(error, MemoryError):
        return "out of memory; use a smaller --tile or another device"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    message = " ".join(str(error).split())
    return message.replace(f"cannot read image '{source}': ", "cannot read image: ", 1)
