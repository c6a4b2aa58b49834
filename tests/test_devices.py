"""distillsr.devices: a user's device name becomes a torch.device, or one line saying what to use."""

from __future__ import annotations

import pytest
import torch

from distillsr.devices import resolve_device
from distillsr.errors import DistillsrError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    """A pretend machine with two CUDA devices, the second one current (nothing touches a GPU)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)


def _one_line_error(device, match: str, **kwargs) -> str:
    with pytest.raises(DistillsrError, match=match) as caught:
        resolve_device(device, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["cpu", "cpu:0", torch.device("cpu"), torch.device("cpu", 0)])
def test_cpu_in_any_spelling_is_the_plain_cpu(name):
    device = resolve_device(name)
    assert device == torch.device("cpu") and device.index is None


def test_auto_without_cuda_is_the_cpu(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_with_cuda_is_the_current_gpu(two_gpus):
    assert resolve_device("auto") == torch.device("cuda", 1)


def test_bare_cuda_gets_the_current_index_and_an_explicit_index_is_kept(two_gpus):
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    assert resolve_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_a_gpu_index_beyond_the_machine_is_named(two_gpus):
    message = _one_line_error("cuda:2", "only 2 CUDA device")
    assert "'cuda:2'" in message


@pytest.mark.parametrize("name", ["cuda", "cuda:0", torch.device("cuda", 0)])
def test_cuda_without_cuda_is_one_line(no_cuda, name):
    _one_line_error(name, "requested but CUDA is not available")


def test_meta_only_where_shapes_are_all_that_matter():
    assert resolve_device("meta", allow_meta=True) == torch.device("meta")
    _one_line_error("meta", r"unsupported device 'meta': use 'cpu' or 'cuda'")


@pytest.mark.parametrize("name", ["mps", "xpu"])
def test_other_torch_devices_are_unsupported(name):
    _one_line_error(name, rf"unsupported device '{name}")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "", "CPU ", None])
def test_garbage_names_are_unknown_devices(name):
    _one_line_error(name, r"unknown device .*: use 'cpu' or 'cuda'")
