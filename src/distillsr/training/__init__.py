"""Training: the typed recipe, the one loop with stages, losses, schedules.

Only the recipe types and their reader (:mod:`distillsr.training.recipe`) are re-exported here;
they are light (no torch at import), so ``distillsr train --print-config`` and the docs can use
them without loading the engine.
"""

from distillsr.training.recipe import (
    LOSS_TYPES,
    STAGE_KINDS,
    AugmentConfig,
    CheckpointConfig,
    ConfigError,
    DataConfig,
    DistributedConfig,
    LoggingConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    PixelLossConfig,
    RecipeConfig,
    ReparameterizeStageConfig,
    SchedulerConfig,
    StageConfig,
    SubImagesConfig,
    TrainDataConfig,
    TrainStageConfig,
    ValDataConfig,
    field_reference,
    format_recipe,
    load_recipe,
    parse_recipe,
    recipe_from_dict,
    recipe_to_dict,
)

__all__ = [
    "LOSS_TYPES",
    "STAGE_KINDS",
    "AugmentConfig",
    "CheckpointConfig",
    "ConfigError",
    "DataConfig",
    "DistributedConfig",
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
    "TrainDataConfig",
    "TrainStageConfig",
    "ValDataConfig",
    "field_reference",
    "format_recipe",
    "load_recipe",
    "parse_recipe",
    "recipe_from_dict",
    "recipe_to_dict",
]
