"""Recipes in and out: strict YAML reading with ``--set`` overrides, and printing the resolved recipe.

Thin calls into the generic reader (:mod:`distillsr.config`) with the recipe's root class and its
schema (:func:`recipe_schema`): the stage and loss kinds, and the hook that types ``model.kwargs``
by the model constructor's annotations. :func:`format_recipe` prints every default; the printed
text reads back as an equal recipe.

Every function takes the kinds (``kinds=``, a :class:`~.kinds.RecipeKinds`): the engine does not
know which stage kinds plug into it. Users read recipes through :mod:`distillsr.stages`, which
passes the one table of kinds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from distillsr.config.describe import show
from distillsr.config.errors import ConfigError
from distillsr.config.overrides import apply_override
from distillsr.config.printing import format_yaml, to_plain
from distillsr.config.reader import Reader, read
from distillsr.config.schema import Schema, join
from distillsr.config.yaml_positions import line_of, parse_yaml
from distillsr.errors import DistillsrError
from distillsr.training.recipe.model import ModelConfig, model_annotations, model_parameters
from distillsr.training.recipe.run import RecipeConfig
from distillsr.training.recipe.kinds import RecipeKinds


def _coerce_model_kwargs(reader: Reader, values: dict, raw: Any, path: str, line: int | None) -> dict:
    """Type ``model.kwargs`` values by the constructor's annotations (``channels: '32'`` is an error).

    The annotations are only known once ``name`` and ``scale`` are; an unknown model or scale is
    left for :class:`ModelConfig` to report under its own path.
    """
    kwargs = values.get("kwargs") or {}
    name, scale = values.get("name"), values.get("scale")
    if not kwargs or not isinstance(name, str) or not isinstance(scale, int):
        return values
    try:
        parameters = model_parameters(name, scale)
        annotations = model_annotations(name, scale)
    except DistillsrError:
        return values
    kwargs_raw = raw.get("kwargs") if isinstance(raw, dict) else None
    coerced = {}
    for key, value in kwargs.items():
        tp = annotations.get(key) if key in parameters else None
        key_line = line_of(kwargs_raw, key) or line
        if tp is not None:
            value = reader.convert(value, tp, None, join(path, f"kwargs.{key}"), key_line, lenient=True)
        coerced[key] = value
    return {**values, "kwargs": coerced}


def recipe_schema(kinds: RecipeKinds) -> Schema:
    """What the generic reader needs to read a :class:`RecipeConfig` whose stages and losses are ``kinds``."""
    return Schema(
        document="recipe",
        unions=kinds.unions,
        coercers=MappingProxyType({ModelConfig: _coerce_model_kwargs}),
    )


def recipe_from_dict(
    data: Any, *, kinds: RecipeKinds, source: str = "<recipe>", overrides: Iterable[str] = ()
) -> RecipeConfig:
    """A validated recipe from already-parsed data (overrides applied first)."""
    if data is None:
        raise ConfigError("", "the recipe is empty", source=source)
    if not isinstance(data, dict):
        raise ConfigError("", f"a recipe is a mapping of keys, got {show(data)}", source=source)
    schema = recipe_schema(kinds)
    overrides = tuple(overrides)
    if overrides:
        data = copy.deepcopy(data)  # the caller's data stays as it was
    for text in overrides:
        apply_override(data, text, RecipeConfig, schema, source)
    return read(RecipeConfig, data, schema, source=source)


def parse_recipe(
    text: str, *, kinds: RecipeKinds, source: str = "<string>", overrides: Iterable[str] = ()
) -> RecipeConfig:
    """A validated recipe from YAML text; ``source`` names it in error messages."""
    return recipe_from_dict(parse_yaml(text, source), kinds=kinds, source=source, overrides=overrides)


def load_recipe(path: str | Path, overrides: Iterable[str] = (), *, kinds: RecipeKinds) -> RecipeConfig:
    """Read a recipe file strictly, after applying ``--set``-style ``overrides`` (``a.b.c=value``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DistillsrError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DistillsrError(f"{path}: cannot read the recipe ({error})") from None
    return parse_recipe(text, kinds=kinds, source=str(path), overrides=tuple(overrides))


def recipe_to_dict(value: Any, *, kinds: RecipeKinds) -> Any:
    """Plain data (dicts, lists, scalars) of a recipe or any part of it; tags written first."""
    return to_plain(value, recipe_schema(kinds))


def format_recipe(recipe: RecipeConfig, *, kinds: RecipeKinds) -> str:
    """The resolved recipe as YAML, defaults included (``--print-config``); it reads back equal."""
    return format_yaml(recipe_to_dict(recipe, kinds=kinds))
