"""Channel groups derived from the zoo's networks: every group is exactly removable, the rest is explained."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from support.models import randomise

from distillsr.compression.pruning.groups import (
    find_groups,
    group_by_name,
    prunable_groups,
)
from distillsr.compression.pruning.surgery import remove_channels, silence_channels
from distillsr.models.zoo import build_model
from distillsr.nn.reparam import deploy

# The zoo models the issue names, the DIPNet student's folded 48/48 form among them.
MODELS = {
    "dipnet": {},
    "edipv1": {},
    "dipnet-48": {"channels": 48, "mid_channels": 48},
    "e-rfdn": {},
    "rfdn": {},
    "imdn": {},
    "ddistill-sr": {},
}


def _network(label: str) -> torch.nn.Module:
    name = "dipnet" if label == "dipnet-48" else label
    network = build_model(name, 4, **MODELS[label]).network
    if name == "ddistill-sr":
        network = deploy(network)  # pruning works on the folded form
    return randomise(network, seed=7, std=0.05).double()


@pytest.mark.parametrize("label", list(MODELS))
def test_zeroing_a_group_equals_removing_it(label):
    """For every prunable group: the masked and the physically narrower network compute the same function."""
    network = _network(label)
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    groups = prunable_groups(find_groups(network, x))
    assert len(groups) >= 10
    with torch.no_grad():
        reference = network(x)
    unchanged = []
    for group in groups:
        chosen = list(group.channels[:: 3])[: max(1, group.width - 1)]  # a spread, never the whole group
        masked, pruned = copy.deepcopy(network), copy.deepcopy(network)
        silence_channels(masked, chosen)
        remove_channels(pruned, chosen)
        with torch.no_grad():
            expected, got = masked(x), pruned(x)
        assert got.shape == reference.shape, group.name  # the pruned model runs
        assert (expected - got).abs().max().item() < 1e-5, group.name
        if (expected - reference).abs().max().item() < 1e-9:
            unchanged.append(group.name)  # possible: a channel a ReLU always cuts off
        for path, role in chosen[0].indices:
            axis = 1 if role == "in" else 0
            assert pruned.get_submodule(path).weight.shape[axis] < network.get_submodule(path).weight.shape[axis]
    assert len(unchanged) <= len(groups) // 5, f"zeroing changed nothing for {unchanged}: the check would be vacuous"


def test_the_imdn_split_and_the_upsampler_stay_whole_and_say_why(caplog):
    network = build_model("imdn", 2, channels=16, num_blocks=1).network
    with caplog.at_level(logging.DEBUG, logger="distillsr"):
        groups = group_by_name(find_groups(network, explain=True))
    for part in ("IMDB1.c1.out[0:4]", "IMDB1.c1.out[4:16]"):  # distilled and remaining parts of the split
        assert not groups[part].prunable and "split" in groups[part].reason
        assert groups[part].reorderable  # a permutation inside a part keeps every offset
    assert groups["IMDB1.c1.out[0:4]"].producers == ["IMDB1.c1", "IMDB1.cca.conv_du.2"]
    assert groups["IMDB1.c4"].prunable  # the last distilled part is only concatenated: its offset moves with it
    assert groups["IMDB1.c4"].producers == ["IMDB1.c4", "IMDB1.cca.conv_du.2"]  # the attention scale is tied to it
    upsampler = groups["upsampler.0"]  # 3 image channels after the shuffle, 4 filters each
    assert upsampler.width == 3 and "network output" in upsampler.reason and not upsampler.reorderable
    assert upsampler.channels[1].indices[("upsampler.0", "out")] == (4, 5, 6, 7)
    assert "pruning: upsampler.0 (" in caplog.text and "unprunable: the network output" in caplog.text
    assert groups["fea_conv"].prunable and "LR_conv" in groups["fea_conv"].producers


def test_dipnet_groups_are_named_after_their_first_layer():
    groups = find_groups(build_model("dipnet", 4).network)
    names = [group.name for group in prunable_groups(groups)]
    assert names[:6] == ["conv_1", "block_1.c1_r", "block_1.c2_r", "block_1.c5", "block_1.esa.conv1", "block_1.esa.conv2"]
    trunk = group_by_name(groups)["conv_1"]
    assert trunk.producers == ["conv_1", "block_1.c3_r", "conv_2"] and trunk.width == 44  # the long skip ties conv_2
    assert group_by_name(groups)["block_1.c5"].producers == ["block_1.c5", "block_1.esa.conv4", "block_2.c3_r"]
