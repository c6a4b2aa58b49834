"""The version of distillsr, read from the installed package metadata (its one source: pyproject.toml)."""

from __future__ import annotations

from functools import cache

NOT_INSTALLED = "0+unknown"


@cache
def package_version() -> str:
    """The installed distribution's version; ``0+unknown`` when run from a never-installed source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("distillsr")
    except PackageNotFoundError:
        return NOT_INSTALLED
