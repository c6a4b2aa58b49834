"""The one table of stage kinds: kind -> (its options, the class that runs it).

Torch-free: the recipe reader derives its tagged union from this table, and a recipe must load
without torch. The runner is therefore named by import path (``"module:Class"``) and imported only
when a run reaches a stage of that kind. Adding a kind is one row here (plus its config class and
its :class:`~distillsr.training.stages.base.StageKind`); nothing scans modules at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from distillsr.errors import DistillsrError
from distillsr.training.recipe.csd import CSDStageConfig, ProCSDStageConfig
from distillsr.training.recipe.distill import DistillStageConfig
from distillsr.training.recipe.prune import PruneStageConfig
from distillsr.training.recipe.stages import (
    ReparameterizeStageConfig,
    StageConfig,
    TrainStageConfig,
)

if TYPE_CHECKING:
    from distillsr.training.stages.base import StageKind


@dataclass(frozen=True)
class StageRow:
    """One stage kind: its options (read from the recipe) and its runner, ``"package.module:Class"``."""

    config: type[StageConfig]
    runner: str

    @property
    def kind(self) -> str:
        return self.config.kind


def _table(*rows: StageRow) -> Mapping[str, StageRow]:
    table = {row.kind: row for row in rows}
    if len(table) != len(rows) or "" in table:
        raise AssertionError("every stage config class needs its own non-empty `kind`")
    return MappingProxyType(table)


STAGES: Mapping[str, StageRow] = _table(
    StageRow(TrainStageConfig, "distillsr.training.stages.train:TrainStage"),
    StageRow(ReparameterizeStageConfig, "distillsr.training.stages.reparameterize:ReparameterizeStage"),
    StageRow(DistillStageConfig, "distillsr.compression.distill.stage:DistillStage"),
    StageRow(PruneStageConfig, "distillsr.compression.pruning.stage:PruneStage"),
    StageRow(CSDStageConfig, "distillsr.compression.contrastive.stage:CSDStage"),
    StageRow(ProCSDStageConfig, "distillsr.compression.contrastive.stage:ProCSDStage"),
)
"""Stage kind -> its row. The first row's kind is the default of a stage without ``kind``."""


def stage_kind(kind: str) -> StageKind:
    """The runner of ``kind``, imported now (the first time a run reaches such a stage)."""
    row = STAGES.get(kind)
    if row is None:
        raise DistillsrError(f"stage kind {kind!r} has no runner (known: {', '.join(STAGES)})")
    module_name, _, class_name = row.runner.partition(":")
    runner = getattr(importlib.import_module(module_name), class_name)
    if runner.config is not row.config:
        raise DistillsrError(f"{row.runner} runs {runner.config.__name__}, but the table pairs it with {row.config.__name__}")
    return runner()
