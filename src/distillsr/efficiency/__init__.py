"""Model efficiency measurements in the NTIRE efficient-SR convention.

Parameters, MACs/FLOPs, activations and conv-layer counts, runtime and peak memory for any
``nn.Module`` at a given input size (default one 1x3x256x256 low-resolution image). Importing this
package builds nothing and runs nothing.
"""

from distillsr.efficiency._setup import DEFAULT_INPUT_SHAPE
from distillsr.efficiency.activations import ActivationCount, count_activations
from distillsr.efficiency.memory import MemoryStats, measure_peak_memory
from distillsr.efficiency.ops import OpCount, count_ops
from distillsr.efficiency.params import ParamCount, count_parameters
from distillsr.efficiency.report import EfficiencyReport, format_report, profile_model
from distillsr.efficiency.runtime import RuntimeStats, measure_runtime

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "ActivationCount",
    "EfficiencyReport",
    "MemoryStats",
    "OpCount",
    "ParamCount",
    "RuntimeStats",
    "count_activations",
    "count_ops",
    "count_parameters",
    "format_report",
    "measure_peak_memory",
    "measure_runtime",
    "profile_model",
]
