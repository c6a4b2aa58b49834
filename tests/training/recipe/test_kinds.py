"""The stage and loss tables: tags, defaults, aliases."""

from __future__ import annotations

from distillsr.training.recipe import LOSS_TYPES, STAGE_KINDS, LossConfig, StageConfig
from distillsr.training.recipe.unions import TAGGED_UNIONS, tagged_union


def test_stage_kind_defaults_to_train(minimal, parse):
    assert parse(minimal.replace("  - kind: train\n    iterations", "  - iterations")).stages[0].kind == "train"


def test_unknown_stage_kind_lists_known_kinds(minimal, error_of):
    message = error_of(minimal.replace("kind: train", "kind: distil"))
    assert "stages.0.kind" in message and "'distil'" in message
    for kind in STAGE_KINDS:
        assert kind in message


def test_tables_name_their_classes():
    for kind, cls in STAGE_KINDS.items():
        assert issubclass(cls, StageConfig) and cls.kind == kind
    for loss_type, cls in LOSS_TYPES.items():
        import dataclasses

        field = next((f for f in dataclasses.fields(cls) if f.name == "type"), None)
        names = field.type if field is not None else cls.type  # a Literal of types, or one fixed class-level type
        assert issubclass(cls, LossConfig) and loss_type in names
    assert {u.base for u in TAGGED_UNIONS} == {StageConfig, LossConfig}
    stage = tagged_union(StageConfig)
    assert stage is not None and stage.default == "train" and stage.lookup("fold") == "reparameterize"
    loss = tagged_union(LossConfig)
    assert loss is not None and loss.default is None and loss.lookup("L1Loss") == "l1" and loss.lookup("l4") is None
    assert tagged_union(TAGGED_UNIONS[0].members["train"]) is None  # members are not unions themselves
