"""Where distillsr keeps files it fetched for the user (official weights): ``$DISTILLSR_HOME``.

Downloaded files are a cache — they can be fetched again — so the default is the platform's cache
folder, not the home directory or the package: ``$XDG_CACHE_HOME/distillsr`` (else
``~/.cache/distillsr``) on Linux and other Unixes, ``~/Library/Caches/distillsr`` on macOS and
``%LOCALAPPDATA%\\distillsr\\Cache`` on Windows. ``$DISTILLSR_HOME`` moves it anywhere (a shared
disk, a read-only image prepared in advance, a test's temporary folder).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HOME_VARIABLE = "DISTILLSR_HOME"


def platform_cache_dir(platform: str | None = None) -> Path:
    """The per-user cache folder of distillsr on this (or the named) platform (``sys.platform`` values)."""
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "distillsr" / "Cache"
    if platform == "darwin":
        return Path.home() / "Library" / "Caches" / "distillsr"
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative (or empty) value is to be ignored
        base = str(Path.home() / ".cache")
    return Path(base) / "distillsr"


def distillsr_home() -> Path:
    """``$DISTILLSR_HOME`` when set (``~`` expanded, made absolute so messages name a real place and
    a change of working directory does not move the cache), else :func:`platform_cache_dir`."""
    explicit = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(explicit).expanduser().absolute() if explicit else platform_cache_dir()
