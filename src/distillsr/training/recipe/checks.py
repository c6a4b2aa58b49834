"""The two checks every recipe class runs in ``__post_init__``, raising :class:`ConfigError` with the field.

Values are checked where they are defined, so a recipe built in Python is held to the same rules
as one read from a file; the reader adds the enclosing path and the file position.
"""

from __future__ import annotations

from distillsr.config.errors import ConfigError


def require(condition: bool, path: str, reason: str) -> None:
    if not condition:
        raise ConfigError(path, reason)


def positive(value: float | None, path: str) -> None:
    require(value is None or value > 0, path, f"must be positive, got {value}")
