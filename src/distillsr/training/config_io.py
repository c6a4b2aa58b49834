"""Compatibility re-export: removed at integration.

Recipe reading and printing moved to :mod:`distillsr.training.recipe.io` (thin calls into the
generic strict reader, :mod:`distillsr.config`); this keeps ``distillsr.training.config_io`` working.
"""

from distillsr.training.recipe.io import format_recipe, load_recipe, parse_recipe, recipe_from_dict, recipe_to_dict

__all__ = ["format_recipe", "load_recipe", "parse_recipe", "recipe_from_dict", "recipe_to_dict"]
