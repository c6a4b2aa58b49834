"""distillsr: lightweight single-image super-resolution.

Importing the package does no work: submodules are imported where they are used.
"""

from distillsr.errors import DistillsrError

__all__ = ["DistillsrError", "__version__"]
__version__ = "0.1.0"


def upscale(*args, **kwargs):  # noqa: D103 - documented at distillsr.api.upscale, imported on first use
    from distillsr.api import upscale as _upscale

    return _upscale(*args, **kwargs)
