"""The generated recipe reference."""

from __future__ import annotations

from distillsr.imaging.degrade import DEGRADATION_NAMES
from distillsr.metrics.protocols import PROTOCOLS
from distillsr.stages import field_reference


def test_schema_choices_match_the_package():
    hints = {row.path: row for row in field_reference()}
    assert hints["data.train.degradation"].type == "|".join(DEGRADATION_NAMES)
    assert set(PROTOCOLS) == {"classic", "ntire"}


def test_every_field_is_documented():
    rows = field_reference()
    paths = {row.path for row in rows}
    assert {"model.kwargs", "data.train.hr_folders", "stages[kind=train].optimizer.lr", "checkpoint.keep"} <= paths
    assert "stages[kind=train].losses[type=l1|l2|charbonnier].eps" in paths
    for row in rows:
        assert row.help and "\n" not in row.help, row.path


def test_reference_rows_carry_defaults_and_aliases():
    rows = {row.path: row for row in field_reference()}
    assert rows["seed"].aliases == ("manual_seed",) and rows["seed"].default == "0"
    assert rows["model.name"].default == "required" and rows["logging"].default == "(defaults)"
    assert rows["stages[].kind"].type == "train|reparameterize|distill|prune|csd|pro-csd" and rows["stages[].kind"].default == "train"
    assert rows["stages[kind=train].losses"].default == "[{type: l1}]"
    assert rows["data.train.sub_images"].type == "SubImagesConfig | null"
