"""The ImageNet weights of the contrastive loss's VGG-19: a user's file, or torchvision's, fetched once.

A stage's ``vgg_weights`` says where they come from:

* ``null`` (the default): torchvision's ``vgg19-dcbb9e9d.pth`` from :data:`VGG19_URL`, kept in
  ``$DISTILLSR_HOME/weights/vgg19/`` (:func:`distillsr.home.distillsr_home`) and downloaded there by
  the dataset downloader (:func:`distillsr.data.download.fetch_file`: resumable ``.part``, a record
  so the next run does not hash the file again). Its full sha256 is not recorded here; torchvision's
  convention is that the file name carries the first 8 hex digits of it (``-dcbb9e9d.``), which is
  what is checked, for the downloaded file and for one copied into the folder by hand.
* a path: the user's file, in torchvision's layout. With ``vgg_sha256`` its full sha256 is checked;
  without, a torchvision-style name (``name-<hex>.pth``) has its prefix checked; any other name only
  its tensors (names and shapes, :meth:`~.vgg.VGG19Features.load_torchvision_state`).
* a Keras ``.h5`` file: the original Oxford VGG-19 as Keras ships it
  (:data:`~.vgg_keras.KERAS_VGG19_URL`, also bundled in PyPI packages), converted to torchvision's
  layout and input convention by :mod:`.vgg_keras`; under Keras' own file name its sha256 is checked.
* ``random``: an untrained VGG, for smoke tests on machines without the file. A loud warning says
  the loss is then not CSD's: random features measure something else entirely.

Files are read with ``torch.load(weights_only=True)`` (no code runs from a pickle) or as safetensors.
``$DISTILLSR_OFFLINE`` turns the download off; a missing file is then one line naming the URL, the
folder to put it in and the recipe key that points elsewhere.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distillsr.console import get_logger
from distillsr.errors import DistillsrError

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_FILENAME = "vgg19-dcbb9e9d.pth"
RANDOM = "random"
"""The ``vgg_weights`` value that asks for an untrained VGG."""

_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,64})\.")  # torch.hub's convention: name-<sha256 prefix>.ext
_log = get_logger(__name__)


def vgg_folder() -> Path:
    """Where the downloaded VGG-19 file lives: ``$DISTILLSR_HOME/weights/vgg19``."""
    from distillsr.checkpoints.official_download import weights_folder

    return weights_folder("vgg19")


def name_hash_prefix(path: Path) -> str | None:
    """The sha256 prefix a torchvision-style file name carries (``vgg19-dcbb9e9d.pth`` -> ``dcbb9e9d``)."""
    found = _HASH_IN_NAME.search(path.name)
    return found.group(1) if found else None


def _recipe_hint(key: str) -> str:
    from distillsr.compression.contrastive.vgg_keras import KERAS_VGG19_URL

    return (f"or set {key}: PATH to a copy of it or of Keras' VGG-19 file ({KERAS_VGG19_URL}, needs h5py) "
            f"({key}: {RANDOM} trains with an untrained VGG, which is not CSD's loss)")


def check_sha256(path: Path, sha256: str | None, *, known: str | None = None) -> None:
    """``path`` hashes to ``sha256`` (full), or to the prefix in its name when no full hash is given.

    ``known``: the file's sha256 when already computed (a download record), to avoid reading 548 MB again.
    """
    wanted = (sha256 or "").lower() or name_hash_prefix(path)
    if not wanted:
        return
    if known is None:
        from distillsr.data.file_records import hash_file

        try:
            known, _ = hash_file(path)
        except OSError as error:
            raise DistillsrError(f"cannot read the VGG-19 weights {path}: {error.strerror or error}") from None
    if not known.startswith(wanted):
        what = "sha256" if sha256 else f"sha256 prefix in its name ({wanted})"
        raise DistillsrError(
            f"{path} does not match its {what}: the file hashes to {known}; it is corrupt or not the file meant"
        )


def _known_sha256(path: Path) -> str | None:
    """The sha256 a file under a published name must have (Keras' VGG-19 file), else None."""
    from distillsr.compression.contrastive.vgg_keras import KERAS_VGG19_FILENAME, KERAS_VGG19_SHA256

    return KERAS_VGG19_SHA256 if path.name == KERAS_VGG19_FILENAME else None


def read_state_dict(path: Path) -> dict:
    """The tensors of a ``.pth``/``.pt`` (``weights_only=True``), ``.safetensors`` or Keras ``.h5`` file, on the CPU.

    PyTorch files are read by :func:`distillsr.checkpoints.weights_file.read_torch_file`, the reader every
    weights file goes through: ``torch.load`` fails on a file that is no checkpoint with whatever
    its parser trips on (``KeyError: 101`` for a text file), and that reader turns every such failure,
    and a refused pickle, into one line.
    """
    from safetensors import SafetensorError

    from distillsr.checkpoints.weights_file import read_torch_file

    if path.suffix.lower() in (".h5", ".hdf5"):
        from distillsr.compression.contrastive.vgg_keras import read_keras_vgg19

        return read_keras_vgg19(path)
    if path.suffix != ".safetensors":
        return read_torch_file(path)
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except OSError as error:
        raise DistillsrError(f"cannot read the VGG-19 weights {path}: {error.strerror or error}") from None
    except SafetensorError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DistillsrError(f"{path} is not a readable safetensors file ({reason})") from None


def downloaded_vgg19(
    *, key: str = "vgg_weights", opener: Callable[..., Any] | None = None, timeout: float = 60.0
) -> Path:
    """torchvision's VGG-19 file in the cache folder, downloaded on first use, its name's hash checked."""
    from distillsr.checkpoints.official_download import (
        OFFLINE_VARIABLE,
        TerminalProgress,
        downloads_allowed,
    )
    from distillsr.data.catalogue import RemoteFile
    from distillsr.data.download import fetch_file
    from distillsr.data.file_records import record_path
    from distillsr.data.transfer import TransferError

    folder = vgg_folder()
    final = folder / VGG19_FILENAME
    if not final.is_file() and not downloads_allowed():
        raise DistillsrError(
            f"the contrastive loss needs ImageNet VGG-19 weights: {VGG19_FILENAME} is not in {folder} and downloads "
            f"are off (${OFFLINE_VARIABLE} is set); download {VGG19_URL} into {folder}, {_recipe_hint(key)}"
        )
    bar = TerminalProgress(VGG19_FILENAME)
    try:
        path, sha256, _, fetched = fetch_file(
            RemoteFile(VGG19_URL, VGG19_FILENAME), folder, opener=opener or urllib.request.urlopen,
            timeout=timeout, echo=_log.info, progress=bar,
        )
    except TransferError as error:
        raise DistillsrError(
            f"the contrastive loss needs ImageNet VGG-19 weights, and {VGG19_URL} could not be downloaded "
            f"({error.reason}): run again, or download it into {folder}, {_recipe_hint(key)}"
        ) from None
    except OSError as error:
        raise DistillsrError(f"cannot store the VGG-19 weights in {folder}: {error.strerror or error}") from None
    finally:
        bar.close()
    try:
        check_sha256(path, None, known=sha256)
    except DistillsrError:
        record_path(folder, VGG19_FILENAME, "verified").unlink(missing_ok=True)  # never trusted next time
        if not fetched:  # a file someone put there: theirs to remove, as with official weights
            raise DistillsrError(
                f"{path} hashes to {sha256}, not to the dcbb9e9d... its name promises: it is not torchvision's "
                f"VGG-19; delete it to download it again from {VGG19_URL}, {_recipe_hint(key)}"
            ) from None
        path.unlink(missing_ok=True)
        raise DistillsrError(
            f"the file fetched from {VGG19_URL} hashes to {sha256}, not to the dcbb9e9d... its name promises, "
            f"so it was deleted; run again, or download it into {folder} yourself"
        ) from None
    return path


def vgg19_features(
    weights: str | None = None,
    sha256: str | None = None,
    *,
    key: str = "vgg_weights",
    opener: Callable[..., Any] | None = None,
):
    """A frozen :class:`~.vgg.VGG19Features` with ImageNet weights from ``weights`` (see the module doc).

    ``key``: the recipe key that names the weights, quoted in errors (``stages.0.vgg_weights``).
    """
    import torch

    from distillsr.compression.contrastive.vgg import VGG19Features

    if weights == RANDOM:
        _log.warning(
            f"{key}: {RANDOM}: the contrastive loss runs on an untrained VGG-19 (seeded), so it is not CSD's "
            "loss; use it to try a recipe out, not to train a model you report"
        )
        with torch.random.fork_rng(devices=[]):  # a fixed VGG, and the run's own random stream untouched
            torch.manual_seed(0)
            return VGG19Features()
    if weights is None:
        path = downloaded_vgg19(key=key, opener=opener)
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DistillsrError(f"{key}: no VGG-19 weights file at {path}; download {VGG19_URL} or give another path")
        check_sha256(path, sha256 or _known_sha256(path))
    module = VGG19Features()
    module.load_torchvision_state(read_state_dict(path), source=str(path))
    return module
