"""Finding out that an output cannot be written *before* the work that produces it.

An evaluation that runs for an hour and then fails to write its ``--json`` report has lost the
hour. Every command checks its output locations first with these functions: they create (and
remove) a hidden probe file where the output will go, so a read-only disk, a missing permission,
a full disk at zero bytes or a path through a regular file fail in one line naming the path.
Folders that do not exist yet are not created by the check; the probe goes into the nearest
existing ancestor, which is where creating them would fail.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from distillsr.errors import DistillsrError

SYSTEMIC_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT})
"""Write failures that will hit every later file in the same place too (disk full, read-only...)."""


def describe_os_error(error: OSError, action: str = "") -> str:
    """``PATH: reason`` (or ``cannot ACTION PATH: reason``) for an OSError, in one line."""
    reason = error.strerror or str(error) or type(error).__name__
    path = error.filename if error.filename is not None else ""
    if error.filename2 is not None:
        path = f"{path} -> {error.filename2}"
    where = f"{action} {path}".strip()
    return f"{where}: {reason}" if where else reason


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def _probe(folder: Path, target: Path, what: str) -> None:
    if not folder.is_dir():
        raise DistillsrError(f"cannot write {what} {target}: {folder} is a file, not a folder")
    probe = folder / f".distillsr-write-test-{os.getpid()}.tmp"
    try:
        with open(probe, "wb") as stream:
            stream.write(b"0")
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:
        raise DistillsrError(f"cannot write {what} {target}: {error.strerror or error}") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def check_output_file(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Refuse a file output that names a folder or lies where nothing can be written."""
    target = Path(path)
    if target.is_dir():
        raise DistillsrError(f"cannot write {what} {target}: it is a folder; give a file name")
    if target.exists() and not target.is_file():
        # Outputs are written atomically (a sibling renamed over the target), which cannot go into
        # a device, a pipe or /dev/stdout: say so before the work rather than after it.
        raise DistillsrError(f"cannot write {what} {target}: it is not a regular file (a device or a pipe?); give a file name")
    _probe(_nearest_existing(target.parent), target, what)
    return target


def check_output_folder(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Refuse a folder output that is a file or lies where nothing can be written."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise DistillsrError(f"cannot write {what} {target}: it is a file, not a folder")
    _probe(_nearest_existing(target), target, what)
    return target
