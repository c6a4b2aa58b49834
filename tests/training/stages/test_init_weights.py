"""A stage's ``init:`` weights: strict by default, ``strict: false`` names what it skipped, official files too."""

from __future__ import annotations

import logging

import pytest
import torch
from support import official_weights

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.checkpoints.weights_file import read_weights
from distillsr.errors import DistillsrError
from distillsr.nn.rescale_upsampler import rescale_pixel_shuffle
from distillsr.training.stages.init_weights import (
    describe_skipped,
    load_fitting,
    load_initial_weights,
)

DIPNET_X4 = ("model.name=dipnet", "model.scale=4", "model.kwargs={}", "data.train.lr_patch_size=16")


def test_load_fitting_takes_what_fits_and_reports_the_rest():
    source = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 4, 1))
    target = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 6, 1), torch.nn.Conv2d(6, 2, 1))
    state = {**source.state_dict(), "extra.weight": torch.zeros(1)}
    kept = target[2].weight.detach().clone()
    report = load_fitting(target, state)
    assert report.loaded == ["0.weight", "0.bias"] and torch.equal(target[0].weight, source[0].weight)
    assert report.unexpected == ["extra.weight"] and report.missing == ["2.weight", "2.bias"]
    assert report.mismatched == ["1.weight [4,8,1,1] vs [6,8,1,1]", "1.bias [4] vs [6]"]
    assert torch.equal(target[2].weight, kept), "what the file lacks keeps its weights"
    assert describe_skipped(report) == (
        "2 missing (2.weight, 2.bias); 1 unexpected (extra.weight); "
        "2 mis-shaped, file vs model (1.weight [4,8,1,1] vs [6,8,1,1], 1.bias [4] vs [6])"
    )


def _checkpoint(path, network, *, model="imdn", scale=2, input_range=1.0):
    save_checkpoint(path, network.state_dict(), CheckpointInfo(model=model, scale=scale, input_range=input_range))
    return str(path)


def test_a_strict_init_that_does_not_fit_names_the_key_and_the_way_out(make_session, tmp_path):
    wider = make_session("wider", "model.kwargs.channels=24").build_network()
    path = _checkpoint(tmp_path / "wider.safetensors", wider)
    session = make_session()
    with pytest.raises(DistillsrError) as caught:
        load_initial_weights(session.context, session.build_network(), path, strict=True, where="stages.0.init")
    message = str(caught.value)
    assert message.startswith("stages.0.init: weights do not fit imdn x2") and "shape mismatch" in message
    assert message.endswith("(strict: false loads what fits)") and "\n" not in message


def test_a_non_strict_init_logs_one_line_of_what_it_skipped(make_session, tmp_path, caplog):
    deeper = make_session("deeper", "model.kwargs.num_blocks=2").build_network()
    path = _checkpoint(tmp_path / "deeper.safetensors", deeper)
    session = make_session()
    network = session.build_network()
    with caplog.at_level(logging.INFO, logger="distillsr"):
        report = load_initial_weights(session.context, network, path, strict=False, where="stages.0.init")
    assert report is not None and not report.missing  # the deeper file has a second block and a wider fusion
    assert report.mismatched == ["c.0.weight [16,32,1,1] vs [16,16,1,1]"]
    assert all(name.startswith("IMDB2.") for name in report.unexpected)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"stages.0.init: started from {path}, {len(report.loaded)} of 36 tensors loaded; skipped ")
    assert f"{len(report.unexpected)} unexpected (IMDB2." in line and line.endswith(
        "1 mis-shaped, file vs model (c.0.weight [16,32,1,1] vs [16,16,1,1])")
    for name in report.loaded:
        assert torch.equal(network.state_dict()[name], deeper.state_dict()[name])


def test_weights_of_another_input_range_or_with_nothing_in_common_are_refused(make_session, tmp_path):
    session = make_session()
    network = session.build_network()
    other_range = _checkpoint(tmp_path / "range.safetensors", network, input_range=255.0)
    with pytest.raises(DistillsrError, match="trained on inputs in 0-255, but imdn takes 0-1"):
        load_initial_weights(session.context, network, other_range, strict=False, where="stages.0.init")
    unrelated = _checkpoint(tmp_path / "unrelated.safetensors", torch.nn.Conv2d(1, 1, 1))
    with pytest.raises(DistillsrError, match="stages.0.init: no tensor of .* fits imdn x2"):
        load_initial_weights(session.context, network, unrelated, strict=False, where="stages.0.init")
    with pytest.raises(DistillsrError, match="stages.1.init: weights file .* does not exist"):
        load_initial_weights(session.context, network, str(tmp_path / "gone.pth"), strict=True, where="stages.1.init")


def test_an_official_file_starts_its_zoo_model_exactly(make_session, caplog):
    official = official_weights("dipnet", "DIPNet.pth")
    session = make_session("dipnet", *DIPNET_X4)
    network = session.build_network()
    with caplog.at_level(logging.INFO, logger="distillsr"):
        assert load_initial_weights(session.context, network, str(official), strict=True, where="stages.0.init") is None
    expected = read_weights(official).state_dict
    assert network.state_dict().keys() == expected.keys()
    assert all(torch.equal(network.state_dict()[name], tensor) for name, tensor in expected.items())
    assert [r.getMessage() for r in caplog.records] == [f"stages.0.init: started from {official} ({len(expected)} tensors)"]

    narrower = make_session("narrow", *DIPNET_X4, "model.kwargs.channels=40").build_network()
    report = load_initial_weights(session.context, narrower, str(official), strict=False, where="stages.0.init")
    assert report is not None and report.mismatched and report.loaded and not report.unexpected


def test_a_x4_init_under_init_scale_starts_a_x2_model_with_its_upsampler_resampled(make_session, tmp_path, caplog):
    """Independent of the loader: the expected x2 tail is the x4 file's tail passed through rescale_pixel_shuffle
    by hand, and every other tensor is the file's as it is."""
    x4 = make_session("x4", "model.scale=4").build_network()
    path = _checkpoint(tmp_path / "x4.safetensors", x4, scale=4)
    session = make_session()  # imdn x2
    network = session.build_network()
    with caplog.at_level(logging.INFO, logger="distillsr"):
        load_initial_weights(session.context, network, path, strict=True, where="stages.0.init", scale=4)
    source, loaded = x4.state_dict(), network.state_dict()
    tail = [name for name in source if source[name].shape != loaded[name].shape]
    assert tail == ["upsampler.0.weight", "upsampler.0.bias"]
    for name in source:
        expected = rescale_pixel_shuffle(source[name], 4, 2) if name in tail else source[name]
        assert torch.equal(loaded[name], expected), name
    assert any("resampled upsampler.0.bias, upsampler.0.weight from x4 to x2" in r.getMessage() for r in caplog.records)


def test_init_scale_must_be_the_scale_of_the_file(make_session, tmp_path):
    session = make_session()
    network = session.build_network()
    x2 = _checkpoint(tmp_path / "x2.safetensors", network, scale=2)
    with pytest.raises(DistillsrError, match=r"stages.0.init: .*x2.safetensors is a x2 model, not x4 as init_scale says"):
        load_initial_weights(session.context, network, x2, strict=True, where="stages.0.init", scale=4)
    x3 = make_session("x3", "model.scale=3").build_network()
    mislabelled = _checkpoint(tmp_path / "x3.safetensors", x3, scale=4)  # says x4, holds a x3 tail
    with pytest.raises(DistillsrError, match="no pixel-shuffle tensor to resample from x4 to x2"):
        load_initial_weights(session.context, network, mislabelled, strict=True, where="stages.0.init", scale=4)
