"""The stage and loss kinds the reader is given: tags, defaults, aliases, and a table that does not fit refused."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from distillsr.errors import DistillsrError
from distillsr.training.recipe import (
    ConfigError,
    LossConfig,
    PixelLossConfig,
    RecipeKinds,
    ReparameterizeStageConfig,
    StageConfig,
    TrainStageConfig,
    parse_recipe,
)

ENGINE = RecipeKinds.of((TrainStageConfig, ReparameterizeStageConfig), {"l1": PixelLossConfig})
"""The engine's own kinds only: what training/ can read without any compression stage."""


def test_stage_kind_defaults_to_train(minimal, parse):
    assert parse(minimal.replace("  - kind: train\n    iterations", "  - iterations")).stages[0].kind == "train"


def test_unknown_stage_kind_lists_known_kinds(minimal, error_of):
    from distillsr.stages import stage_kinds

    message = error_of(minimal.replace("kind: train", "kind: distil"))
    assert "stages.0.kind" in message and "'distil'" in message
    for kind in stage_kinds():
        assert kind in message


def test_the_reader_knows_only_the_kinds_it_is_given(minimal):
    assert parse_recipe(minimal, kinds=ENGINE).stages[0].kind == "train"
    with pytest.raises(ConfigError, match=r"stages.0.kind: .*'prune'.*train, reparameterize"):
        parse_recipe(minimal.replace("kind: train", "kind: prune"), kinds=ENGINE)


def test_tables_name_their_classes():
    from distillsr.stages import recipe_kinds

    kinds = recipe_kinds()
    for kind, cls in kinds.stages.items():
        assert issubclass(cls, StageConfig) and cls.kind == kind
    for loss_type, cls in kinds.losses.items():
        field = next((f for f in dataclasses.fields(cls) if f.name == "type"), None)
        names = field.type if field is not None else cls.type  # a Literal of types, or one fixed class-level type
        assert issubclass(cls, LossConfig) and loss_type in names
    assert {u.base for u in kinds.unions} == {StageConfig, LossConfig}
    stage = kinds.union_for(StageConfig)
    assert stage is not None and stage.default == "train" and stage.lookup("fold") == "reparameterize"
    loss = kinds.union_for(LossConfig)
    assert loss is not None and loss.default is None and loss.lookup("L1Loss") == "l1" and loss.lookup("l4") is None
    assert kinds.union_for(kinds.stages["train"]) is None  # members are not unions themselves


def test_a_table_that_does_not_fit_is_refused_in_one_line():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Nameless(StageConfig):
        pass

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Other(StageConfig):
        kind: ClassVar[str] = "train"

    for stages, losses, message in [
        ((Nameless,), {}, "stage config Nameless has no `kind`"),
        ((TrainStageConfig, Other), {}, r"stage kind 'train' is listed twice \(TrainStageConfig, Other\)"),
        ((PixelLossConfig,), {}, "not a StageConfig subclass"),
        ((), {}, "the stage table is empty"),
        ((TrainStageConfig,), {"l1": TrainStageConfig}, "loss type 'l1' is .* not a LossConfig subclass"),
    ]:
        with pytest.raises(DistillsrError, match=message):
            RecipeKinds.of(stages, losses)
