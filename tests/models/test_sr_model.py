"""distillsr.models.sr_model: callers speak [0, 1]; the model scales to its network's range and checks inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel


class Square(nn.Module):
    """Non-linear, so dividing the output back is distinguishable from not scaling at all; records its input."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return x * x


class Widths(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.widths: list[float] = []

    def set_width(self, width: float) -> None:
        self.widths.append(width)


def test_a_0_255_network_sees_x_times_255_and_its_output_is_divided_back():
    network = Square()
    model = SRModel(network, "e-rfdn-like", scale=1, input_range=255.0)
    x = torch.tensor([0.0, 0.2, 0.5, 1.0]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    out = model(x)
    assert torch.allclose(network.seen[0], x * 255)
    assert torch.allclose(out, (255 * x) ** 2 / 255)  # = 255 x^2, not x^2
    assert not torch.allclose(out, x * x)


def test_a_0_1_network_gets_the_input_as_it_is():
    network = Square()
    x = torch.rand(2, 3, 4, 5)
    out = SRModel(network, "plain", scale=1)(x)
    assert torch.equal(network.seen[0], x) and torch.equal(out, x * x)


@pytest.mark.parametrize(
    "shape,message",
    [
        ((3, 8, 8), r"plain expects an \(N, C, H, W\) tensor, got shape \(3, 8, 8\)"),
        ((1, 1, 3, 8, 8), r"got shape \(1, 1, 3, 8, 8\)"),
        ((1, 1, 8, 8), r"plain takes 3 channels, got 1"),
        ((1, 4, 8, 8), r"plain takes 3 channels, got 4"),
        ((1, 3, 0, 20), r"plain got an empty image of \(0, 20\) pixels"),
    ],
)
def test_bad_inputs_are_one_line_errors_before_the_network_runs(shape, message):
    network = Square()
    model = SRModel(network, "plain", scale=2, min_size=15)
    with pytest.raises(DistillsrError, match=message) as caught:
        model(torch.zeros(shape))
    assert "\n" not in str(caught.value)
    assert network.seen == []


def test_the_smallest_allowed_input_and_any_channel_count_when_unspecified():
    model = SRModel(Square(), "bicubic-like", scale=1, in_channels=None, min_size=15)
    for channels in (1, 2, 4):
        assert model(torch.ones(1, channels, 15, 15)).shape == (1, channels, 15, 15)


def test_eval_and_to_act_on_the_network_and_chain():
    network = nn.Conv2d(3, 3, 1).train()
    model = SRModel(network, "conv", scale=1)
    assert model.eval() is model and not network.training
    assert model.to("cpu") is model
    assert model.device == torch.device("cpu")
    model.to("meta")
    assert model.device == torch.device("meta") and network.weight.is_meta


def test_a_network_without_parameters_lives_on_the_cpu():
    assert SRModel(Square(), "square", scale=1).device == torch.device("cpu")


def test_set_width_is_passed_on_or_refused():
    network = Widths()
    model = SRModel(network, "csd", scale=2)
    assert model.set_width(0.25) is model and network.widths == [0.25]
    with pytest.raises(DistillsrError, match="square is not a channel-splitting model: it has no widths"):
        SRModel(Square(), "square", scale=2).set_width(0.5)


def test_each_model_has_its_own_metadata():
    a, b = SRModel(Square(), "a", 2), SRModel(Square(), "b", 2)
    a.metadata["weights"] = "a.safetensors"
    assert b.metadata == {}
    assert (a.input_range, a.in_channels, a.min_size) == (1.0, 3, 1)


# --- the contract: small inputs padded and cropped back, dtypes, tiling hint --------------------------


class MinimumSize(nn.Module):
    """A x2 network that fails below 15 px like ESA's strided pooling does, and records what it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape))
        if min(x.shape[-2:]) < 15:
            raise RuntimeError("input too small for the pooling")
        return self.shuffle(self.conv(x))


@pytest.mark.parametrize("size", [(1, 1), (4, 30), (30, 4), (14, 14)])
def test_inputs_below_the_minimum_are_padded_and_the_output_cropped_back(size):
    torch.manual_seed(0)
    network = MinimumSize()
    model = SRModel(network, "esa-like", scale=2, min_size=15)
    x = torch.rand(1, 3, *size)
    out = model(x)
    assert out.shape == (1, 3, 2 * size[0], 2 * size[1])
    assert network.seen == [(1, 3, max(15, size[0]), max(15, size[1]))]
    # The independent reference: a 3x3 conv sees only its neighbours, so away from the bottom and
    # right edges (where the replicated pixels are the context) the result is the plain convolution.
    reference = network.shuffle(nn.functional.conv2d(x, network.conv.weight, network.conv.bias, padding=1))
    inner_h, inner_w = 2 * (size[0] - 1), 2 * (size[1] - 1)
    assert torch.allclose(out[..., :inner_h, :inner_w], reference[..., :inner_h, :inner_w], atol=1e-6)


def test_a_single_pixel_is_a_flat_image_to_the_network():
    """Replication from one pixel gives a constant image: the output equals that of a flat 15x15 input."""
    network = MinimumSize()
    model = SRModel(network, "esa-like", scale=2, min_size=15)
    pixel = torch.tensor([0.2, 0.5, 0.9]).reshape(1, 3, 1, 1)
    flat = network(pixel.expand(1, 3, 15, 15))
    assert torch.equal(model(pixel), flat[..., :2, :2])


def test_inputs_at_or_above_the_minimum_are_not_padded():
    network = MinimumSize()
    SRModel(network, "esa-like", scale=2, min_size=15)(torch.rand(1, 3, 15, 16))
    assert network.seen == [(1, 3, 15, 16)]


def test_dtypes_outside_the_contract_are_refused():
    model = SRModel(Square(), "plain", scale=1)
    assert model(torch.ones(1, 3, 2, 2, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(DistillsrError, match="plain computes in float32, float64, float16, bfloat16, not int64"):
        model(torch.ones(1, 3, 2, 2, dtype=torch.int64))


def test_the_tiling_hint_follows_the_layers():
    from distillsr.models.zoo import build_model

    dipnet = build_model("dipnet", 4, channels=8, mid_channels=8, esa_channels=4, num_blocks=1)
    hint = dipnet.tiling
    assert hint.min_size == 15 and hint.align % 6 == 0 and hint.local
    assert hint.passes(3) == 1 and hint.pad(4) == 15
    plain = SRModel(nn.Conv2d(3, 3, 1), "conv", scale=1).tiling
    assert (plain.min_size, plain.align, plain.pools_globally) == (1, 1, False)
