"""Old name of :mod:`distillsr.inference.width_policy`, kept while ``benchmarks/dynamic_vs_fixed.py``
(another developer's file) imports its modules from here; delete this package once it imports
``distillsr.inference.width_policy`` (and :func:`distillsr.api.evaluate` instead of ``.evaluation``).

Each old submodule name is the new module itself (one object, not a copy), registered on import.
"""

import importlib
import sys

for _name in ("baselines", "calibration", "costs", "policy", "scores"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"distillsr.inference.width_policy.{_name}")
