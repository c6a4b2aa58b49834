"""Data options: degradations, protocols, folder pairing, tiling."""

from __future__ import annotations

import pytest

from distillsr.training.recipe import ConfigError, SubImagesConfig, TrainDataConfig


def test_protocol_and_degradation_are_checked(minimal, parse, error_of):
    assert "classic" in error_of(minimal.replace("data:\n", "data:\n  val: {protocol: matlab}\n"))
    message = error_of(minimal.replace("    hr_folders", "    degradation: BX\n    hr_folders"))
    assert "data.train.degradation" in message and "BI, BD, DN" in message
    assert (
        parse(minimal.replace("    hr_folders", "    degradation: bd\n    hr_folders")).data.train.degradation == "BD"
    )


def test_data_checks_in_python():
    with pytest.raises(ConfigError, match="lr_folders: gives 2 folder"):
        TrainDataConfig(hr_folders=("a",), lr_folders=("b", "c"))
    with pytest.raises(ConfigError, match="hr_folders: needs at least one folder"):
        TrainDataConfig(hr_folders=())
    with pytest.raises(ConfigError, match="thresh: must be zero or more"):
        SubImagesConfig(thresh=-1)
