"""The runner of a stage: the :class:`~distillsr.training.stages.base.StageKind` its options name.

A stage's options class names its runner (``StageConfig.runner``), so the session finds it without
a table, and the engine never imports a compression stage kind by name: a ``"module:Class"``
runner is imported when a run reaches (or checks) such a stage, and nothing scans modules at
import time. The table of kinds a recipe may use lives above the engine, in :mod:`distillsr.stages`.
"""

from __future__ import annotations

import importlib

from distillsr.errors import DistillsrError
from distillsr.training.recipe.stages import StageConfig
from distillsr.training.stages.base import StageKind


def stage_runner(config: StageConfig | type[StageConfig]) -> StageKind:
    """A fresh runner for stages with these options (an instance, or the options class)."""
    cls = config if isinstance(config, type) else type(config)
    spec = cls.runner
    where = f"stage kind {cls.kind!r} ({cls.__name__})"
    if isinstance(spec, str):
        module_name, _, class_name = spec.partition(":")
        if not module_name or not class_name:
            raise DistillsrError(f"{where} names no runner; set its `runner` to 'package.module:Class' or the class")
        try:
            runner = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as error:
            raise DistillsrError(f"{where}: cannot import its runner {spec} ({error})") from None
    else:
        runner = spec
    if not (isinstance(runner, type) and issubclass(runner, StageKind)):
        raise DistillsrError(f"{where}: its runner {runner!r} is not a StageKind subclass")
    return runner()
