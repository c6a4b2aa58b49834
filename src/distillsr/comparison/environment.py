"""Where a benchmark's numbers come from: machine, software and settings, recorded with them.

A runtime without its CPU model, thread count and precision cannot be compared with anything, so
every results file carries this record.
"""

from __future__ import annotations

import datetime
import platform
from typing import Any


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (``platform.processor()`` is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_name(device: Any) -> str | None:
    """The CUDA device's name, or None on the CPU."""
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        return None
    return torch.cuda.get_device_name(device)


def collect_environment(device: Any, precision: str) -> dict[str, Any]:
    """The record written beside the results: versions, hardware, threads, precision, device, date."""
    import torch

    from distillsr.version import package_version

    return {
        "distillsr": package_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "gpu": gpu_name(device),
        "cuda": torch.version.cuda if getattr(device, "type", None) == "cuda" else None,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "precision": precision,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
