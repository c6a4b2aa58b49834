"""distillsr: lightweight single-image super-resolution.

Importing the package does no work: submodules are imported where they are used.
"""

from distillsr.errors import DistillsrError

__all__ = ["DistillsrError", "__version__"]
__version__ = "0.1.0"
