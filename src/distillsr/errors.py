"""The one exception type users see.

Every failure that is the user's input (a bad file, a missing folder, an unknown option) is raised
as :class:`DistillsrError` with a message that names the thing at fault, so the CLI can print one
line and exit non-zero instead of a traceback.
"""

from __future__ import annotations


class DistillsrError(Exception):
    """A user-facing error: its message is complete and printable as one line."""


class ImageReadError(DistillsrError):
    """An image file is missing, empty, truncated, corrupt or not an image."""


class DataError(DistillsrError):
    """A dataset folder is missing, empty, or its HR and LR images do not pair up."""


class NonFiniteValuesError(DistillsrError):
    """Float values meant to become pixels hold NaN, so no pixel value can stand for them.

    Raised by low-level conversions that cannot know where the values came from; callers that do
    know (a model's output, a resize) catch it and say so, e.g. "the model produced NaN".
    """
