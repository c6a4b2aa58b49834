"""Official weights by name: a zoo entry's published file, fetched once into the user's cache.

``distillsr upscale -m e-rfdn`` needs the authors' ``RFDN_AIM.pth``; rather than sending the user
to find it, the file is downloaded from the URL recorded on the zoo entry into
``$DISTILLSR_HOME/weights/<model>/`` (see :mod:`distillsr.home`) by the dataset downloader
(:func:`distillsr.data.download.fetch_file`), so it inherits the same guarantees: a ``.part`` file
resumed with a Range request, size and sha256 checked before the file gets its final name (a
mismatch deletes the ``.part``), and a hidden record that lets the next run use the file without
hashing it again or asking the network anything. A file put into that folder by other means (copied
from another machine, a cache image prepared in advance) is hashed once and used when it matches.
A failed download leaves no litter: an empty ``.part`` and the folders it created are removed,
while a ``.part`` holding bytes stays for the next run to resume.

``$DISTILLSR_OFFLINE`` (any value but empty/0/false/no) turns downloads off, so air-gapped machines
and test suites never reach the network: a cached file is still used, a missing one is one error
line naming the URL to fetch by hand and how to give the file instead (``-w``, or what the
command that asked takes: ``weights_option``).
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from distillsr.checkpoints.model_spec import WEIGHTS_OPTION
from distillsr.console import get_logger
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.data.catalogue import RemoteFile
    from distillsr.data.transfer import Progress
    from distillsr.models.zoo import OfficialWeights, ZooEntry

OFFLINE_VARIABLE = "DISTILLSR_OFFLINE"
DEFAULT_SCALE = 4  # the scale a name means when none is asked for (the zoo's and the challenges' x4)
ProgressChoice = Union[Literal["auto"], "Progress", None]

_log = get_logger(__name__)


def downloads_allowed() -> bool:
    """False when ``$DISTILLSR_OFFLINE`` is set to anything but an empty, 0, false or no value."""
    return os.environ.get(OFFLINE_VARIABLE, "").strip().lower() in ("", "0", "false", "no")


def weights_folder(model: str) -> Path:
    """Where the official files of ``model`` are kept: one folder per model, named as in the zoo."""
    from distillsr.home import distillsr_home

    return distillsr_home() / "weights" / model


def select_weights(entry: ZooEntry, scale: float | None, *, exact: bool = False) -> OfficialWeights | None:
    """The published file for ``scale``; for no scale, the x4 one (else the largest scale's).

    With ``exact=False`` a scale that has no file of its own also gets the default one: ``upscale
    -s 2`` with a x4-only model upscales x4 and resizes, as it does with ``-w``. With ``exact=True``
    (evaluation, export: the scale is the model's) it gets None.
    """
    by_scale = {weights.scale: weights for weights in entry.weights}
    if not by_scale:
        return None
    if scale is not None and float(scale).is_integer() and int(scale) in by_scale:
        return by_scale[int(scale)]
    if scale is not None and exact:
        return None
    return by_scale.get(DEFAULT_SCALE) or by_scale[max(by_scale)]


def _remote(weights: OfficialWeights) -> RemoteFile:
    """The zoo's record of a file in the dataset downloader's terms (its URL, name, size and sha256)."""
    from distillsr.data.catalogue import RemoteFile

    return RemoteFile(weights.url, weights.filename, sha256=weights.sha256, size=weights.size)


def cached_path(model: str, weights: OfficialWeights) -> Path | None:
    """The file when the cache holds it verified (its record matches the file on disk), else None.

    Reads a small record and stats the file, nothing more: ``distillsr zoo`` asks this for every row.
    """
    from distillsr.data.file_records import read_record, record_path, stamp

    folder = weights_folder(model)
    final = folder / weights.filename
    if not final.is_file():
        return None
    record = read_record(record_path(folder, weights.filename, "verified"))
    if record is None or not record.get("checked") or record.get("sha256") != weights.sha256.lower():
        return None
    try:
        return final if record.get("stamp") == stamp(final) else None
    except OSError:
        return None


def _verified_in_cache(model: str, weights: OfficialWeights, weights_option: str = WEIGHTS_OPTION) -> Path | None:
    """The cached file, checked by its record, else by hashing it (a file copied in by hand, or a
    cache prepared on another machine whose records no longer match); None when it is not there.

    Hashing happens on this machine only, so it works offline and in a read-only cache (the record
    is then simply not written). A file of the right name with other bytes is an error, not
    silently replaced: the user may have put it there.
    """
    found = cached_path(model, weights)
    if found is not None:
        return found
    final = weights_folder(model) / weights.filename
    if not final.is_file():
        return None
    import json

    from distillsr.atomic import atomic_write_text
    from distillsr.data.file_records import hash_file, mismatch, record_path, stamp

    try:
        sha256, md5 = hash_file(final)
        size = final.stat().st_size
    except OSError as error:
        raise DistillsrError(
            f"cannot read the cached official weights {final}: {error.strerror or error} (delete it, or give {weights_option})"
        ) from None
    problem = mismatch(_remote(weights), size, sha256, md5)
    if problem:
        raise DistillsrError(
            f"{final} is not the official {weights.filename} of {model} ({problem}): delete it to download it again "
            f"from {weights.url}, or give {weights_option}"
        )
    try:
        record = {"sha256": sha256, "checked": True, "stamp": stamp(final)}
        atomic_write_text(record_path(final.parent, weights.filename, "verified"), json.dumps(record))
    except OSError:
        pass  # a read-only cache: the file is right, it is only hashed again next time
    return final


class TerminalProgress:
    """A tqdm byte counter on stderr, drawn only on a terminal and not under ``-q`` (logs stay clean)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            from distillsr.console import progress_bar

            self.bar = progress_bar(
                total=total, desc=self.description, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
            )
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cached_official_weights(
    name: str,
    scale: float | None = None,
    *,
    exact: bool = False,
    download: bool = True,
    progress: ProgressChoice = "auto",
    opener: Callable[..., Any] | None = None,
    timeout: float = 60.0,
    weights_option: str = WEIGHTS_OPTION,
) -> Path:
    """The verified official file of zoo model ``name`` for ``scale`` (see :func:`select_weights`),
    downloaded into the cache on first use.

    ``progress="auto"`` draws a bar when stderr is a terminal; a callable gets ``(bytes, total)``.
    ``opener`` is called like ``urllib.request.urlopen`` (tests serve local bytes with it).
    ``weights_option``: how the caller takes a weights file instead, quoted in the errors' advice.
    """
    from distillsr.models.zoo import get_entry

    entry = get_entry(name)
    weights = select_weights(entry, scale, exact=exact)
    if weights is None:
        wanted = "" if scale is None else f" x{scale:g}"
        raise DistillsrError(f"no official weights are published for {entry.name}{wanted}: give {weights_option}")
    cached = _verified_in_cache(entry.name, weights, weights_option)
    if cached is not None:
        return cached
    if not (download and downloads_allowed()):
        switch = "download=False" if not download else f"${OFFLINE_VARIABLE} is set"
        raise DistillsrError(
            f"model {entry.name} needs trained weights: {weights.filename} is not in {weights_folder(entry.name)} and "
            f"downloads are off ({switch}); download {weights.url} and give {weights_option}"
        )
    return _download(entry.name, weights, progress, opener or urllib.request.urlopen, timeout, weights_option)


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first: what a download
    creates, and so what a failed one removes again when it left them empty."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    return missing


def _tidy(folder: Path, filename: str, created: list[Path]) -> None:
    """After a failed download: remove a ``.part`` that received nothing and the folders the
    attempt created, when they are empty. A ``.part`` holding bytes stays, for the resume."""
    part = folder / f"{filename}.part"
    try:
        if part.is_file() and part.stat().st_size == 0:
            part.unlink()
    except OSError:
        pass
    for made in created:
        try:
            made.rmdir()  # only succeeds when empty, so nothing of anyone's is lost
        except OSError:
            break  # not empty (or not ours to remove): its parents are not empty either


def _download(model: str, weights: OfficialWeights, progress: ProgressChoice, opener: Callable[..., Any], timeout: float,
              weights_option: str = WEIGHTS_OPTION) -> Path:
    """Fetch, verify and keep ``weights`` in the model's cache folder; every failure is one line
    that names the URL or the folder and the way out (``$DISTILLSR_HOME``, ``-w``)."""
    from distillsr.data.download import fetch_file
    from distillsr.data.file_records import ChecksumMismatchError
    from distillsr.data.transfer import TransferError
    from distillsr.home import HOME_VARIABLE
    from distillsr.writable import describe_os_error

    folder = weights_folder(model)
    created = _missing_folders(folder)
    way_out = f"(set ${HOME_VARIABLE} to a writable folder, or give {weights_option})"
    bar = TerminalProgress(weights.filename) if progress == "auto" else None
    try:
        path, _, _, _ = fetch_file(
            _remote(weights), folder, opener=opener, timeout=timeout, echo=_log.info,
            progress=bar if bar is not None else progress,  # type: ignore[arg-type]
        )
    except ChecksumMismatchError as error:  # the .part was deleted by fetch_file
        _tidy(folder, weights.filename, created)
        raise DistillsrError(
            f"official weights of {model}: the checksum of the file downloaded from {weights.url} did not match "
            f"({error.problem}), so it was deleted; run again, or download it yourself and give {weights_option}"
        ) from None
    except TransferError as error:
        _tidy(folder, weights.filename, created)
        if error.local:
            raise DistillsrError(f"cannot store official weights in {folder}: {error.reason} {way_out}") from None
        part = folder / f"{weights.filename}.part"
        kept = part.is_file() and part.stat().st_size > 0
        then = "run again to resume" if kept else "check the connection and run again"
        raise DistillsrError(
            f"model {model} needs trained weights, and {weights.url} could not be downloaded ({error.reason}): "
            f"{then}, or download it yourself and give {weights_option}"
        ) from None
    except OSError as error:  # the cache folder cannot be made, or the file not renamed or recorded there
        _tidy(folder, weights.filename, created)
        raise DistillsrError(f"{describe_os_error(error, 'cannot store official weights in')} {way_out}") from None
    finally:
        if bar is not None:
            bar.close()
    return path


def official_weights_file(
    name: str, scale: float | None = None, *, exact: bool = False, weights_option: str = WEIGHTS_OPTION
) -> Path | None:
    """The cached (downloaded if need be) official file of ``name`` at ``scale``, or None when
    none is published for it, so the caller can say what else to give (``weights_option``: how)."""
    from distillsr.models.zoo import get_entry

    entry = get_entry(name)
    if select_weights(entry, scale, exact=exact) is None:
        return None
    return cached_official_weights(entry.name, scale, exact=exact, weights_option=weights_option)
