"""The typed training recipe: what a run trains, on what data, in which stages.

A recipe is a tree of frozen dataclasses, so a typo cannot slip through as a silently ignored dict
key and nothing downstream can mutate the options it was given. Every field carries a one-line
``help`` (and, where BasicSR users know another spelling, ``aliases``) in its metadata
(:func:`distillsr.config.doc`); the YAML reader (:mod:`distillsr.config`, called from :mod:`.io`)
and the generated reference (:func:`field_reference`) are driven by that metadata alone, so they
cannot drift from the code.

Values are checked where they are defined (``__post_init__``), so a recipe built in Python is held
to the same rules as one read from a file; checks that need another part of the package (the zoo,
the scoring protocols) import it only when a recipe is built, never at import time.

Stages and loss terms are *tagged unions*: the ``kind`` of a stage (``type`` of a loss) picks its
dataclass from an explicit table (:data:`STAGE_KINDS`, :data:`LOSS_TYPES`). A compression technique
adds a stage kind by writing one dataclass and one table row; it never edits the reader.

Modules: :mod:`.model`, :mod:`.data`, :mod:`.losses`, :mod:`.optim`, :mod:`.stages`, :mod:`.run`
(the recipe's parts, bottom up), :mod:`.unions` (the tables), :mod:`.reference` (docs),
:mod:`.io` (read, override, print), :mod:`.checks` (the shared value checks).
"""

from distillsr.config.errors import ConfigError
from distillsr.training.recipe.data import AugmentConfig, DataConfig, SubImagesConfig, TrainDataConfig, ValDataConfig
from distillsr.training.recipe.io import format_recipe, load_recipe, parse_recipe, recipe_from_dict, recipe_to_dict
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.model import ModelConfig
from distillsr.training.recipe.optim import OptimizerConfig, SchedulerConfig
from distillsr.training.recipe.reference import FieldDoc, field_reference
from distillsr.training.recipe.run import CheckpointConfig, DistributedConfig, LoggingConfig, RecipeConfig
from distillsr.training.recipe.stages import ReparameterizeStageConfig, StageConfig, TrainStageConfig
from distillsr.training.recipe.unions import LOSS_TYPES, STAGE_KINDS

__all__ = [
    "LOSS_TYPES",
    "STAGE_KINDS",
    "AugmentConfig",
    "CheckpointConfig",
    "ConfigError",
    "DataConfig",
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
