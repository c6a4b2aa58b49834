"""Keras' VGG-19 .h5 file: the layout change (no flip) and the input-convention fold, against direct references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from distillsr.compression.contrastive.loss import IMAGENET_MEAN, IMAGENET_STD
from distillsr.compression.contrastive.vgg import VGG19Features, conv_indices
from distillsr.compression.contrastive.vgg_keras import (
    CAFFE_MEAN_BGR,
    KERAS_LAYERS,
    KERAS_VGG19_FILENAME,
    caffe_to_torchvision_input,
    read_keras_vgg19,
)
from distillsr.compression.contrastive.vgg_weights import vgg19_features
from distillsr.errors import DistillsrError

h5py = pytest.importorskip("h5py", reason="h5py reads Keras' .h5 files (pip install h5py)")

CHANNELS = (3, 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)


def write_keras_file(path, kernels, biases, *, keras1_names: bool = True) -> None:
    """A weights file as Keras writes one: a group per layer; Keras 1 named the datasets
    ``<layer>_W_1:0``/``<layer>_b_1:0``, Keras 2 nests ``<layer>/kernel:0``/``bias:0``."""
    with h5py.File(path, "w") as handle:
        for name, kernel, bias in zip(KERAS_LAYERS, kernels, biases):
            group = handle.create_group(name)
            if keras1_names:
                group[f"{name}_W_1:0"], group[f"{name}_b_1:0"] = kernel, bias
            else:
                inner = group.create_group(name)
                inner["kernel:0"], inner["bias:0"] = kernel, bias


def random_keras_weights(seed: int, channels=CHANNELS):
    rng = np.random.default_rng(seed)
    kernels = [rng.normal(0, 0.05, (3, 3, cin, cout)).astype(np.float32) for cin, cout in zip(channels, channels[1:])]
    biases = [rng.normal(0, 0.05, cout).astype(np.float32) for cout in channels[1:]]
    return kernels, biases


def keras_conv(image_hwc: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras' 'same' conv, written out: out[y, x, o] = b[o] + sum_{i,j,c} in[y+i-1, x+j-1, c] k[i, j, c, o]."""
    padded = np.pad(image_hwc, ((1, 1), (1, 1), (0, 0)))
    h, w, _ = image_hwc.shape
    out = np.broadcast_to(bias, (h, w, bias.size)).astype(np.float64).copy()
    for i in range(3):
        for j in range(3):
            out += padded[i:i + h, j:j + w, :] @ kernel[i, j]
    return out


@pytest.mark.parametrize("keras1_names", [True, False])
def test_kernels_are_transposed_not_flipped(tmp_path, keras1_names):
    channels = (3, 4, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8)  # small: only the layout is under test
    kernels, biases = random_keras_weights(1, channels)
    path = tmp_path / "small.h5"
    write_keras_file(path, kernels, biases, keras1_names=keras1_names)
    state = read_keras_vgg19(path)
    assert sorted(state) == sorted(f"features.{i}.{p}" for i in conv_indices() for p in ("weight", "bias"))
    image = np.random.default_rng(2).random((9, 11, 6)).astype(np.float32)  # the input of the 4th conv
    index = conv_indices()[3]
    ours = F.conv2d(torch.from_numpy(image).permute(2, 0, 1)[None], state[f"features.{index}.weight"],
                    state[f"features.{index}.bias"], padding=1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, keras_conv(image, kernels[3], biases[3]), atol=1e-5)


def test_the_fold_turns_caffe_input_into_torchvision_input():
    kernels, biases = random_keras_weights(3, (3, 64))
    weight = torch.from_numpy(kernels[0].transpose(3, 2, 0, 1).copy())
    bias = torch.from_numpy(biases[0])
    rgb = torch.rand(1, 3, 20, 24, dtype=torch.float64)
    # Caffe's preprocessing, done directly: BGR, 0-255, minus the BGR mean
    caffe_input = rgb.flip(1) * 255 - torch.tensor(CAFFE_MEAN_BGR, dtype=torch.float64).view(1, 3, 1, 1)
    expected = F.conv2d(caffe_input, weight.double(), bias.double(), padding=1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).view(1, 3, 1, 1)
    new_weight, new_bias = caffe_to_torchvision_input(weight.double(), bias.double())
    ours = F.conv2d((rgb - mean) / std, new_weight, new_bias, padding=1)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    torch.testing.assert_close(ours[inner], expected[inner], rtol=0, atol=1e-9)  # exact away from the padding
    border = (ours - expected).abs().max() / expected.abs().max()
    assert 0 < border < 3e-3  # the paddings differ by under one grey level (module doc)


def test_a_full_keras_file_runs_as_the_caffe_network_with_torchvision_input(tmp_path):
    kernels, biases = random_keras_weights(4)
    path = tmp_path / "vgg19-keras.h5"
    write_keras_file(path, kernels, biases)
    vgg = vgg19_features(str(path))
    assert isinstance(vgg, VGG19Features)
    rgb = torch.rand(1, 3, 32, 32)
    normalised = (rgb - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    relu1_1 = vgg(normalised)[0][0].permute(1, 2, 0).numpy()
    caffe = (rgb[0].permute(1, 2, 0).numpy()[..., ::-1] * 255 - np.array(CAFFE_MEAN_BGR)).astype(np.float64)
    expected = np.maximum(keras_conv(caffe, kernels[0].astype(np.float64), biases[0].astype(np.float64)), 0)
    np.testing.assert_allclose(relu1_1[1:-1, 1:-1], expected[1:-1, 1:-1], rtol=1e-4, atol=1e-3)


def test_under_keras_name_a_file_must_be_keras_file(tmp_path):
    kernels, biases = random_keras_weights(5, (3, 4, 5, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8))
    path = tmp_path / KERAS_VGG19_FILENAME
    write_keras_file(path, kernels, biases)
    with pytest.raises(DistillsrError, match="does not match its sha256"):
        vgg19_features(str(path))


def test_an_h5_file_without_vgg_layers_or_not_hdf5_is_one_line(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_group("dense_1")
    with pytest.raises(DistillsrError, match="no layer block1_conv1"):
        vgg19_features(str(path))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(DistillsrError, match="not a readable HDF5"):
        vgg19_features(str(junk))


def test_without_h5py_the_error_says_what_to_install(tmp_path, monkeypatch):
    import sys

    path = tmp_path / "vgg.h5"
    path.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(DistillsrError, match="pip install h5py"):
        vgg19_features(str(path))
