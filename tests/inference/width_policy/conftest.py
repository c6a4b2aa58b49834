"""Fixtures of the dynamic-inference tests: the briefly trained tiny slimmable model and a calibration folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from inference.width_policy.toy import (
    save_tiny,
    synthetic_images,
    trained_tiny,
    write_folder,
)

from distillsr.models.sr_model import SRModel


@pytest.fixture(scope="session")
def tiny() -> SRModel:
    return trained_tiny()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny) -> Path:
    return save_tiny(tiny, tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture(scope="session")
def calibration_folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("calibration") / "images", synthetic_images(seed=5))
