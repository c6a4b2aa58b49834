"""distillsr: lightweight single-image super-resolution.

The Python API is four functions, each the engine of one command:

* :func:`upscale` — upscale a NumPy array or PIL image (``distillsr upscale``);
* :func:`load_model` — a trained model from a zoo name + weights or a weights file;
* :func:`evaluate` — PSNR/SSIM on benchmark folders under a named protocol (``distillsr eval``);
* :func:`profile` — params, MACs/FLOPs, activations, runtime and memory (``distillsr profile``).

Importing the package does no work: they are loaded from :mod:`distillsr.api` on first use
(``import distillsr`` imports neither torch nor NumPy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distillsr.errors import DistillsrError

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads them on first use
    from distillsr.api import evaluate, load_model, profile, upscale

__all__ = ["DistillsrError", "__version__", "evaluate", "load_model", "profile", "upscale"]

_API_NAMES = frozenset({"evaluate", "load_model", "profile", "upscale"})


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        from distillsr import api

        value = getattr(api, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name == "__version__":
        from distillsr.version import package_version

        return package_version()
    raise AttributeError(f"module 'distillsr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
