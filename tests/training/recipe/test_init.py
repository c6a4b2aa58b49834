"""What ``distillsr.training`` and ``distillsr.training.recipe`` export, and that importing them is light."""

from __future__ import annotations

import subprocess
import sys

import distillsr.training
import distillsr.training.recipe


def test_import_does_no_heavy_work():
    code = "import sys, distillsr.training, distillsr.config; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_training_re_exports_the_recipe_api():
    for name in distillsr.training.__all__:
        assert getattr(distillsr.training, name) is getattr(distillsr.training.recipe, name), name
