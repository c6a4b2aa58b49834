"""The error a strictly read configuration raises, and the "did you mean" lookup its messages use."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from distillsr.errors import DistillsrError


class ConfigError(DistillsrError):
    """A config value that is wrong, with where it is (file, line, dotted path) in its one-line message.

    Checks deep in the tree only know the field they are about; the reader adds the path of the
    enclosing object and the file position as the error travels up (:meth:`within`, :meth:`located`).
    """

    def __init__(self, path: str, reason: str, *, source: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.source = source
        self.line = line
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(f"{where}{path}: {reason}" if path else f"{where}{reason}")

    def within(self, prefix: str) -> ConfigError:
        """The same error seen from the object that holds ``prefix``."""
        path = f"{prefix}.{self.path}" if prefix and self.path else (prefix or self.path)
        return ConfigError(path, self.reason, source=self.source, line=self.line)

    def located(self, source: str | None, line: int | None) -> ConfigError:
        """The same error with a file position (an inner, more precise position wins)."""
        return ConfigError(self.path, self.reason, source=self.source or source, line=self.line or line)


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``word`` (difflib), or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None
