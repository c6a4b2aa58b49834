"""Old name of :mod:`distillsr.data.eval_sets`, kept while ``benchmarks/dynamic_vs_fixed.py`` (another
developer's file) imports ``benchmark_sets`` from here; delete it once that file imports ``eval_sets``."""

from distillsr.data.eval_sets import EvalSet as BenchmarkSet
from distillsr.data.eval_sets import eval_sets as benchmark_sets

__all__ = ["BenchmarkSet", "benchmark_sets"]
