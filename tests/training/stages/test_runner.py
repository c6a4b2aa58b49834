"""The one table of stage kinds: each row's runner runs its config, and the recipe reads the same kinds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from distillsr.errors import DistillsrError
from distillsr.training.recipe import STAGE_KINDS
from distillsr.training.stages.base import StageKind
from distillsr.training.stages.table import STAGES, StageRow, stage_kind


def test_every_row_names_a_stage_kind_that_runs_its_config():
    for kind, row in STAGES.items():
        runner = stage_kind(kind)
        assert isinstance(runner, StageKind)
        assert runner.config is row.config and row.config.kind == kind == row.kind


def test_the_recipe_reads_exactly_the_kinds_of_the_table():
    assert dict(STAGE_KINDS) == {kind: row.config for kind, row in STAGES.items()}
    assert list(STAGES)[:2] == ["train", "reparameterize"]


def test_an_unknown_kind_or_a_mismatched_row_is_refused(monkeypatch):
    with pytest.raises(DistillsrError, match="known: train, reparameterize, distill, prune"):
        stage_kind("distil")
    import distillsr.training.stages.table as table

    wrong = StageRow(STAGES["train"].config, "distillsr.training.stages.reparameterize:ReparameterizeStage")
    monkeypatch.setattr(table, "STAGES", {"train": wrong})
    with pytest.raises(DistillsrError, match="runs ReparameterizeStageConfig"):
        stage_kind("train")


@pytest.mark.parametrize("first", ["distillsr.training.stages.table", "distillsr.training.stages",
                                   "distillsr.training.recipe.unions"])
def test_the_table_imports_first_or_second_without_torch(first):
    """The recipe derives its kinds from the table and the table names the recipe's classes: no cycle bites."""
    code = (f"import sys, {first}; from distillsr.training.recipe import STAGE_KINDS; "
            "print(sorted(STAGE_KINDS), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['csd',", "'distill',", "'pro-csd',", "'prune',", "'reparameterize',", "'train']", "False"]
