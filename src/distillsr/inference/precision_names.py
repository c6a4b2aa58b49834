"""The names of the precisions a model can run at, spelled once and importable without torch.

The API's type hints, every command's ``--precision`` choices and the fast path's checks
(:mod:`distillsr.inference.fast_path`, which imports torch) all read them here, so a new precision
is one edit and ``--help`` stays torch-free.
"""

from __future__ import annotations

from typing import Literal

Precision = Literal["fp32", "fp16", "bf16"]
PrecisionChoice = Literal["auto", "fp32", "fp16", "bf16"]

#: What a forward can compute in: plain float32 (the exact path) or autocast to bf16 / fp16.
COMPUTED: tuple[str, ...] = ("fp32", "bf16", "fp16")
#: What upscaling takes: ``auto`` picks the fastest one the hardware does natively.
CHOICES: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
