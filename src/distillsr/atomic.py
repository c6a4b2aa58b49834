"""Write files so that a crash never leaves a half-written output or destroys an old one.

Everything distillsr saves (images, JSON reports, checkpoints) goes through :func:`atomic_write`:
the data is written to a hidden temporary file next to the destination, flushed to disk, and only
then renamed over the destination, which is atomic within one filesystem. The temporary name ends
in ``.tmp`` so folder scans for images or checkpoints never pick up a write in progress.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable


def _create_temp_sibling(path: Path) -> tuple[Path, BinaryIO]:
    """A new hidden file beside ``path``; mode 0o666 lets the umask decide permissions as usual."""
    for _ in range(100):
        temp_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return temp_path, os.fdopen(fd, "wb")
    raise FileExistsError(f"could not create a temporary file next to '{path}'")


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(stream)`` on a temporary sibling, then rename it over ``path``.

    On any failure (including KeyboardInterrupt) the temporary file is removed and ``path`` is left
    as it was. Parent folders are created. A symbolic link is followed (its target is replaced, the
    link kept); a path that is not a regular file (a device, a pipe) is refused with an OSError.
    OSErrors propagate for the caller to word.
    """
    # A link is written through, not replaced by a file; a device or a pipe (/dev/stdout, a fifo)
    # is refused, since renaming a file over it would destroy it rather than write into it.
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise OSError(errno.EINVAL, "not a regular file; refusing to replace it", str(path))
    target.parent.mkdir(parents=True, exist_ok=True)  # its error names the folder that failed
    try:
        temp_path, stream = _create_temp_sibling(target)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        with stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_path, target)
    except BaseException as error:
        try:
            temp_path.unlink()
        except OSError:
            pass  # cleanup must never mask the error that triggered it
        if isinstance(error, OSError):
            raise _naming(error, path) from error
        raise


def _naming(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """The same error (errno and type kept) naming the file the caller asked for, not our temporary.

    A full disk fails in ``write`` with no file name at all, and a failed rename names the hidden
    temporary: either way the user would not learn which output was lost.
    """
    if error.errno is None:
        return error
    return type(error)(error.errno, error.strerror or str(error), os.fspath(path))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    atomic_write(path, lambda stream: stream.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
