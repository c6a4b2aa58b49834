"""Which files ``distillsr upscale`` reads: files, folders and glob patterns, each file once.

Globs are expanded here, not by the shell, so that quoted patterns work the same everywhere
(``**`` matches subfolders). Every input remembers the folder it was found under
(:attr:`Source.root`), so outputs can keep the structure below it (``-i photos -r`` writes
``out/trip/a.png`` for ``photos/trip/a.png``) and equal names in different folders cannot collide.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from distillsr.errors import DistillsrError
from distillsr.imaging.listing import IMAGE_SUFFIXES

# Folder and glob listings pick these up; a file named explicitly is tried whatever its suffix.
INPUT_SUFFIXES: tuple[str, ...] = (*IMAGE_SUFFIXES, ".gif")
_GLOB_CHARACTERS = frozenset("*?[")

Report = Callable[[Literal["note", "error"], str, str], None]
"""(kind, file as the user named it, message): how the batch tells the command about one file."""


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

    A path that does not exist is an error before any work starts: it is usually a typo, and
    finding out after an hour of upscaling helps nobody. ``exclude`` (the output folder) is left
    out of listings, so rerunning into a folder inside an input folder does not upscale the
    previous outputs.
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


def is_inside(path: Path, folder: Path | None) -> bool:
    """Whether ``path`` is ``folder`` or below it, after resolving symlinks and ``..``."""
    if folder is None:
        return False
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


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
        return [Source(Path(m), root) for m in matches if _is_listed(Path(m)) and not is_inside(Path(m), exclude)]
    raise DistillsrError(f"input '{spec}' does not exist")


def _below(exclude: Path | None, root: Path) -> Path | None:
    """``exclude`` only where it lies strictly inside ``root``: an output folder that *is* the
    input folder (or holds it) must not hide the very files the user pointed at."""
    if exclude is None or is_inside(root, exclude):
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
        folders[:] = sorted(f for f in folders if not f.startswith(".") and not is_inside(Path(top, f), exclude))
        files.extend(Path(top, name) for name in sorted(names) if _is_listed(Path(top, name)))
    return files


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
