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
dataclass from an explicit table. The engine does not own that table: the reader and the reference
take it as an argument (:class:`RecipeKinds`), and the one table of every stage kind and loss type
is :mod:`distillsr.stages`, above both the engine and the compression stage kinds. Read recipes
for a run with :func:`distillsr.stages.load_recipe`; the functions here are the engine's, with the
kinds passed in. A compression technique adds a stage kind by writing one dataclass (beside its
runner) and one table row; it never edits the reader.

Modules: :mod:`.model`, :mod:`.data`, :mod:`.losses`, :mod:`.optim`, :mod:`.stages`, :mod:`.run`
(the recipe's parts, bottom up), :mod:`.kinds` (the union members as data), :mod:`.reference`
(docs), :mod:`.io` (read, override, print), :mod:`.checks` (the shared value checks).
"""

from distillsr.config.errors import ConfigError
from distillsr.training.recipe.data import AugmentConfig, DataConfig, SubImagesConfig, TrainDataConfig, ValDataConfig
from distillsr.training.recipe.io import (
    format_recipe,
    load_recipe,
    parse_recipe,
    recipe_from_dict,
    recipe_schema,
    recipe_to_dict,
)
from distillsr.training.recipe.kinds import RecipeKinds
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.model import ModelConfig
from distillsr.training.recipe.optim import OptimizerConfig, SchedulerConfig
from distillsr.training.recipe.reference import FieldDoc, field_reference
from distillsr.training.recipe.run import CheckpointConfig, DistributedConfig, LoggingConfig, RecipeConfig
from distillsr.training.recipe.stages import ReparameterizeStageConfig, StageConfig, TrainStageConfig

__all__ = [
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
    "RecipeKinds",
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
    "recipe_schema",
    "recipe_to_dict",
]
