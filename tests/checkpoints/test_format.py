"""Our safetensors checkpoint format: models round-trip bit-exactly, the metadata is complete and strict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distillsr.checkpoints.format import (
    CheckpointInfo,
    read_checkpoint,
    save_checkpoint,
)
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry

# Small hyperparameter combinations per family (spandrel-style round trips, no downloads).
ROUND_TRIPS = [
    ("e-rfdn", 2, {}),
    ("e-rfdn", 3, {"channels": 16, "num_blocks": 2}),
    ("rfdn", 4, {"channels": 12, "num_blocks": 3}),
    ("rfdn-l", 2, {"num_blocks": 1}),
    ("imdn", 3, {"channels": 32, "num_blocks": 2}),
    ("dipnet", 2, {"channels": 12, "mid_channels": 8}),
    ("edipv1", 4, {}),
    ("dipnet-student", 3, {"channels": 8, "mid_channels": 8, "expansion": 16}),
]


def _randomize(network: torch.nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)


@pytest.mark.parametrize("name,scale,kwargs", ROUND_TRIPS)
def test_round_trip_through_safetensors(tmp_path, name, scale, kwargs):
    entry = get_entry(name)
    network = entry.build(scale, **kwargs).eval()
    _randomize(network)
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(
        path, network.state_dict(),
        CheckpointInfo(model=name, scale=scale, kwargs={**entry.defaults, **kwargs}, input_range=entry.input_range),
    )
    model = load_or_build(None, None, str(path))
    assert (model.name, model.scale, model.input_range) == (name, scale, entry.input_range)
    x = torch.rand(1, 3, 20, 18)
    with torch.no_grad():
        expected = network(x * entry.input_range) / entry.input_range
        np.testing.assert_array_equal(model(x).numpy(), expected.numpy())


def test_metadata_is_complete_and_strict(tmp_path):
    path = tmp_path / "m.safetensors"
    info = CheckpointInfo(
        model="imdn", scale=2, kwargs={"channels": 8, "num_blocks": 1}, form="train",
        provenance={"trained_on": "T91"}, scores=[{"dataset": "Set5", "psnr": 30.0, "protocol": "classic"}],
    )
    save_checkpoint(path, get_entry("imdn").build(2, channels=8, num_blocks=1).state_dict(), info)
    read_info, tensors = read_checkpoint(path)
    assert read_info == info
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_unknown_metadata_field_is_an_error(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"a": torch.zeros(1)}, str(path), metadata={"distillsr": '{"format": "distillsr-checkpoint", "model": "imdn", "scale": 2, "colour": "red"}'})
    with pytest.raises(DistillsrError, match="unknown checkpoint metadata field.*colour"):
        read_checkpoint(path)
