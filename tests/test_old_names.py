"""Old import paths kept for another developer's benchmark scripts, each the new object under its old name.

``benchmarks/prune_criteria.py`` and ``benchmarks/dynamic_vs_fixed.py`` import these; when they move
to the new names, the aliases go (``checkpoints.model_loading.load_model``, ``data/benchmark.py``,
the ``inference/dynamic/`` package) and so does this file. Until then a rename must not break them.
"""

from __future__ import annotations

import importlib

import pytest

OLD_NEW = [
    ("distillsr.checkpoints.model_loading", "load_model", "distillsr.checkpoints.model_loading", "load_or_build"),
    ("distillsr.data.benchmark", "benchmark_sets", "distillsr.data.eval_sets", "eval_sets"),
    ("distillsr.data.benchmark", "BenchmarkSet", "distillsr.data.eval_sets", "EvalSet"),
    *[
        (f"distillsr.inference.dynamic.{module}", name, f"distillsr.inference.width_policy.{module}", name)
        for module, names in {
            "calibration": ("measure_sets", "search", "PSNR_CAP"),
            "baselines": ("fixed_width_mix", "fixed_width_points", "oracle_mix"),
            "scores": ("DEFAULT_SCORE", "make_score"),
            "costs": ("DynamicWidths", "macs_per_pixel"),
            "policy": ("POLICY_KEY",),
        }.items()
        for name in names
    ],
]


@pytest.mark.parametrize(("old_module", "old_name", "new_module", "new_name"), OLD_NEW)
def test_an_old_name_is_the_new_object(old_module, old_name, new_module, new_name):
    assert getattr(importlib.import_module(old_module), old_name) is getattr(importlib.import_module(new_module), new_name)


def test_evaluate_dynamic_is_the_evaluation_loop_with_the_calibrated_policy(monkeypatch):
    from distillsr import api
    from distillsr.inference.dynamic.evaluation import evaluate_dynamic

    class Result:
        spent = "what the widths cost"

    seen = {}

    def evaluate(model, folders, **options):
        seen.update(options)
        return [Result()]

    class Model:
        device = "cpu"

    monkeypatch.setattr(api, "evaluate", evaluate)
    [(result, spent)] = evaluate_dynamic(Model(), ["Set5"], precision="bf16")
    assert spent == "what the widths cost" and seen == {"device": "cpu", "width_policy": "calibrated", "precision": "bf16"}
