"""Compatibility re-export: removed at integration.

The recipe types moved to :mod:`distillsr.training.recipe` (one module per part) and the generic
strict reader to :mod:`distillsr.config`; this keeps ``distillsr.training.config`` imports working.
"""

from distillsr.config.describe import type_name
from distillsr.config.errors import ConfigError, nearest
from distillsr.config.schema import TaggedUnion
from distillsr.training.recipe.data import (
    AugmentConfig,
    DataConfig,
    Degradation,
    SubImagesConfig,
    TrainDataConfig,
    ValDataConfig,
)
from distillsr.training.recipe.losses import PIXEL_LOSS_EPS, LossConfig, PixelLossConfig
from distillsr.training.recipe.model import (
    ModelConfig,
    check_model_kwargs,
    model_annotations,
    model_class,
    model_parameters,
)
from distillsr.training.recipe.optim import OptimizerConfig, SchedulerConfig
from distillsr.training.recipe.reference import FieldDoc, field_reference
from distillsr.training.recipe.run import CheckpointConfig, DistributedConfig, LoggingConfig, RecipeConfig
from distillsr.training.recipe.stages import Amp, ReparameterizeStageConfig, StageConfig, TrainStageConfig
from distillsr.training.recipe.unions import LOSS_TYPES, STAGE_KINDS, TAGGED_UNIONS, tagged_union

__all__ = [
    "LOSS_TYPES",
    "PIXEL_LOSS_EPS",
    "STAGE_KINDS",
    "TAGGED_UNIONS",
    "Amp",
    "AugmentConfig",
    "CheckpointConfig",
    "ConfigError",
    "DataConfig",
    "Degradation",
    "DistributedConfig",
    "FieldDoc",
    "LoggingConfig",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PixelLossConfig",
    "RecipeConfig",
    "ReparameterizeStageConfig",
    "SchedulerConfig",
    "StageConfig",
    "SubImagesConfig",
    "TaggedUnion",
    "TrainDataConfig",
    "TrainStageConfig",
    "ValDataConfig",
    "check_model_kwargs",
    "field_reference",
    "model_annotations",
    "model_class",
    "model_parameters",
    "nearest",
    "tagged_union",
    "type_name",
]
