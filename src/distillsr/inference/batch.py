"""Compatibility re-export: removed at integration.

The batch file handling of ``distillsr upscale`` moved to :mod:`distillsr.commands.upscale`
(``inputs``, ``outputs``, ``jobs``), the pixel-format helpers to
:mod:`distillsr.imaging.pixel_formats`, and the output-scale upscale to
:mod:`distillsr.inference.outscale`. ``distillsr.api`` still imports ``upscale_pixels`` from here.
"""

from __future__ import annotations

from distillsr.inference.outscale import output_size, upscale_pixels

__all__ = ["output_size", "upscale_pixels"]
