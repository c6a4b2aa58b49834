"""The official networks as ``benchmarks/official_mirrors.py`` writes them, for output-equality tests.

The mirrors are written from the authors' code, independently of distillsr's modules, and load the
official files with ``strict=True``; a test that finds distillsr's output equal to a mirror's on the
official weights checks two writings of the network against each other. Tests that use them need
the official files, so they skip without ``../shared`` (:func:`support.official_weights`).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from types import ModuleType

from support import REPO_ROOT


@lru_cache(maxsize=1)
def official_mirrors() -> ModuleType:
    """``benchmarks/official_mirrors.py`` imported as a module (the benchmarks folder is not a package)."""
    path = REPO_ROOT / "benchmarks" / "official_mirrors.py"
    spec = importlib.util.spec_from_file_location("official_mirrors", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
