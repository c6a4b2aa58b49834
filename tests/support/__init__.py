"""Test helpers: where ``../shared`` is and how to do without it (here); models, images, the command,
training runs and offline downloads in the modules beside it (``from support.models import ...``).

Tests that need the real images or official weights call :func:`require_shared`; it skips with
the missing path named, so a user's clone passes without ``../shared``. CI sets
``DISTILLSR_REQUIRE_SHARED=1`` (``.ci/run``), and then a missing path fails the test instead: a
moved or renamed shared file must not turn the reference tests silently into skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]  # tests/support/__init__.py -> the repository
SHARED = Path(os.environ.get("DISTILLSR_SHARED", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"
REQUIRE_SHARED_VARIABLE = "DISTILLSR_REQUIRE_SHARED"


def shared_is_required() -> bool:
    """Whether a missing ``../shared`` path is a failure (CI) rather than a skip (a user's clone)."""
    return os.environ.get(REQUIRE_SHARED_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def require_shared(*parts: str) -> Path:
    """The path under ``../shared``, or a clean skip naming what is missing (a failure under CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is not available (the ../shared folder of real images and weights is absent)"
        if shared_is_required():
            pytest.fail(f"{reason}; {REQUIRE_SHARED_VARIABLE} is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    return path


def official_weights(family: str, filename: str) -> Path:
    """An official checkpoint under ``../shared/weights/official`` or a clean skip."""
    return require_shared("weights", "official", family, filename)


def read_key_file(path: Path) -> dict[str, tuple[int, ...]]:
    """``name [d1,d2,...]`` lines of a reference key list (``#`` lines are comments)."""
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(" ", 1)
        dims = shape.strip().strip("[]")
        keys[name] = tuple(int(d) for d in dims.split(",") if d.strip())
    return keys


def state_dict_shapes(module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def load_shipped_recipe(path: Path):
    """A recipe from ``configs/``; one that names a ``../shared`` weights file (an ``init:``, a teacher's
    ``weights:``) that is absent skips (fails under CI), as a user's clone has no ``../shared``."""
    import re

    from distillsr.stages import load_recipe

    settings = "\n".join(line.split(" #")[0] for line in Path(path).read_text().splitlines())
    for target in re.findall(r"\.\./shared/[^\s,}\]]+\.(?:pth|pt|safetensors)", settings):
        require_shared(*Path(target).parts[2:])
    return load_recipe(path)
