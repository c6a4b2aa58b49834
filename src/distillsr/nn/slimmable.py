"""Channel-splitting ("slimmable") layers and the width-switching protocol of distillsr.

CSD's CSSR-Net (Wang et al., IJCAI 2021) stores one set of full-width weights and runs narrower
sub-networks by slicing them: at width ``w`` every conv uses the first ``int(w * C)`` output and
input channels of its kernel, so the student *is* the first channels of the teacher and every
update to the student also moves the teacher. CSD training, Pro-CSD's multi-branch training and
difficulty-aware dynamic inference all rest on exactly this protocol, so it lives here once:

* :class:`SlimmableLayer` marks a module whose computation depends on a width; each one stores its
  own ``width`` (there is no global state, so two models, or two replicas of one model, never
  interfere).
* :class:`SlimmableConv2d` is an ``nn.Conv2d`` (its full-width state dict is an ordinary conv's)
  that slices its kernel to the current width.
* :class:`SlimmableUpsampler` is CSD's sub-pixel upsampler, sliced so pixel-shuffle groups stay
  whole.
* :mod:`distillsr.nn.slimmable_split` slices concatenated or split tensors segment by segment, so
  distillation networks (IMDN) stay consistent sub-networks of themselves at every width.
* :class:`SlimmableNetwork` is the base class of models built from these layers: it owns the list
  of allowed widths and offers ``model.width`` / ``model.set_width(w)``.
* :func:`width` (a context manager) and :func:`active_parameter_count` work on any such model.

Channel counts use ``int(w * C)`` (truncation), as the official code does, so widths that do not
divide the channel count evenly behave as they do there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

from distillsr.errors import DistillsrError

DEFAULT_WIDTHS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
"""The widths of the CSD paper and of Pro-CSD's branches (teacher first)."""

FULL_WIDTH = 1.0


def active_channels(channels: int, width: float, multiple: int = 1) -> int:
    """Channels used at ``width``: ``int(width * channels / multiple) * multiple``.

    ``multiple`` keeps channel groups whole: an upsampler conv feeding ``PixelShuffle(2)`` has
    ``4 * nf`` outputs that must shrink to ``4 * int(w * nf)``, not ``int(4 * w * nf)``, or the
    shuffle would mix sub-pixel positions of different features. With ``multiple == 1`` this is
    the official ``int(w * C)``.
    """
    if multiple < 1 or channels % multiple:
        raise ValueError(f"{channels} channels do not split into groups of {multiple}")
    if width == FULL_WIDTH:
        return channels
    return int(width * (channels // multiple)) * multiple


class SlimmableLayer(nn.Module):
    """A module whose forward depends on a width stored on the module itself.

    Subclasses say how many of their own parameters a width uses, which is what makes
    :func:`active_parameter_count` exact without knowing the layer type.
    """

    width: float = FULL_WIDTH

    def active_own_parameters(self, width: float) -> int:
        """Scalars of this module's own (non-child) parameters used at ``width``."""
        raise NotImplementedError

    def min_width_ok(self, width: float) -> bool:
        """Whether ``width`` leaves at least one channel everywhere it slices.

        A zero-channel slice would otherwise surface as an obscure conv error at the first forward.
        """
        raise NotImplementedError


class SlimmableConv2d(nn.Conv2d, SlimmableLayer):
    """``nn.Conv2d`` that runs with ``weight[:k_out, :k_in]`` and ``bias[:k_out]`` at its width.

    ``slice_in=False`` is for a head conv (it always reads all image channels), ``slice_out=False``
    for a tail conv (it always writes all image channels). ``in_multiple`` / ``out_multiple`` keep
    channel groups whole (see :func:`active_channels`): ``out_multiple=4`` for a conv feeding
    ``PixelShuffle(2)``, ``in_multiple=k`` for a conv reading a concatenation of ``k`` sliced
    features. Grouped convs are refused because slicing them would change which inputs each group
    sees.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        slice_in: bool = True,
        slice_out: bool = True,
        in_multiple: int = 1,
        out_multiple: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=1,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        # Validate the group sizes now rather than at the first narrow forward.
        active_channels(in_channels, FULL_WIDTH, in_multiple)
        active_channels(out_channels, FULL_WIDTH, out_multiple)
        self.slice_in = slice_in
        self.slice_out = slice_out
        self.in_multiple = in_multiple
        self.out_multiple = out_multiple
        self.width = FULL_WIDTH

    def active_in_channels(self, width: float | None = None) -> int:
        """Input channels read at ``width`` (default: the current width)."""
        w = self.width if width is None else width
        return active_channels(self.in_channels, w, self.in_multiple) if self.slice_in else self.in_channels

    def active_out_channels(self, width: float | None = None) -> int:
        """Output channels written at ``width`` (default: the current width)."""
        w = self.width if width is None else width
        return active_channels(self.out_channels, w, self.out_multiple) if self.slice_out else self.out_channels

    def active_weight(self, width: float | None = None) -> torch.Tensor:
        """The kernel slice used at ``width``: a view, so gradients land in the full weight."""
        k_out, k_in = self.active_out_channels(width), self.active_in_channels(width)
        if k_out == self.out_channels and k_in == self.in_channels:
            return self.weight
        return self.weight[:k_out, :k_in]

    def active_bias(self, width: float | None = None) -> torch.Tensor | None:
        """The bias slice used at ``width`` (``None`` for a bias-free conv)."""
        if self.bias is None:
            return None
        k_out = self.active_out_channels(width)
        return self.bias if k_out == self.out_channels else self.bias[:k_out]

    def active_own_parameters(self, width: float) -> int:
        k_out, k_in = self.active_out_channels(width), self.active_in_channels(width)
        kernel = math.prod(self.kernel_size)
        return k_out * k_in * kernel + (k_out if self.bias is not None else 0)

    def min_width_ok(self, width: float) -> bool:
        return self.active_out_channels(width) > 0 and self.active_in_channels(width) > 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = self.active_in_channels()
        if x.shape[1] != expected:
            raise ValueError(
                f"{type(self).__name__} at width {self.width} reads {expected} of its {self.in_channels} "
                f"input channels, got a tensor with {x.shape[1]}"
            )
        return self._conv_forward(x, self.active_weight(), self.active_bias())

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        if not self.slice_in:
            parts.append("slice_in=False")
        if not self.slice_out:
            parts.append("slice_out=False")
        if self.in_multiple != 1:
            parts.append(f"in_multiple={self.in_multiple}")
        if self.out_multiple != 1:
            parts.append(f"out_multiple={self.out_multiple}")
        return ", ".join(parts)


class SlimmableUpsampler(nn.Module):
    """CSD's sub-pixel upsampler: ``log2(s)`` x [conv(nf -> 4nf), PixelShuffle(2)] for powers of
    two, conv(nf -> 9nf), PixelShuffle(3) for x3; no activation.

    Each conv keeps ``4 * int(w * nf)`` (or ``9 * ...``) outputs so that after the shuffle exactly
    ``int(w * nf)`` whole features remain, which the next sliced conv expects. The convs are
    ``blocks.0``, ``blocks.1``... as in the official state dicts. (The official code builds
    ``scale // 2`` stages, which is ``log2(scale)`` for x2 and x4; x8 is built correctly here.)
    """

    def __init__(self, scale: int, channels: int) -> None:
        super().__init__()
        if scale == 3:
            factor, stages = 3, 1
        elif scale >= 2 and scale & (scale - 1) == 0:
            factor, stages = 2, scale.bit_length() - 1
        else:
            raise DistillsrError(f"the sub-pixel upsampler supports x3 and powers of two, not x{scale}")
        groups = factor * factor
        self.scale = scale
        self.blocks = nn.ModuleList(
            SlimmableConv2d(channels, channels * groups, 3, padding=1, out_multiple=groups) for _ in range(stages)
        )
        self.pixel_shuffle = nn.PixelShuffle(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks:
            x = self.pixel_shuffle(conv(x))
        return x


def slimmable_layers(module: nn.Module) -> Iterator[SlimmableLayer]:
    """Every :class:`SlimmableLayer` inside ``module`` (itself included), each once."""
    for sub in module.modules():
        if isinstance(sub, SlimmableLayer):
            yield sub


class SlimmableNetwork(nn.Module):
    """Base class of models built from slimmable layers: the widths they may run at, and switching.

    Subclasses build their layers, then call :meth:`init_widths` once. The width is not stored
    here but read back from the layers, so there is a single source of truth even when a layer's
    width is changed from a nested network.
    """

    widths: tuple[float, ...] = DEFAULT_WIDTHS

    def init_widths(self, widths: Sequence[float]) -> None:
        """Check and record the allowed widths and start at full width.

        1.0 must be among them: the stored weights are the full-width network, and CSD's teacher
        branch is always the full network.
        """
        checked = tuple(float(w) for w in widths)
        if not checked:
            raise DistillsrError("a slimmable network needs at least one width")
        if FULL_WIDTH not in checked:
            raise DistillsrError(f"widths must include 1.0 (the full network), got {checked}")
        if len(set(checked)) != len(checked):
            raise DistillsrError(f"widths must be distinct, got {checked}")
        layers = list(slimmable_layers(self))
        if not layers:
            raise DistillsrError(f"{type(self).__name__} has no slimmable layers")
        for w in checked:
            if not 0.0 < w <= FULL_WIDTH:
                raise DistillsrError(f"widths must lie in (0, 1], got {w}")
            if not all(layer.min_width_ok(w) for layer in layers):
                raise DistillsrError(f"width {w} leaves a layer of {type(self).__name__} with no channels")
        self.widths = checked
        self.set_width(FULL_WIDTH)

    @property
    def width(self) -> float:
        """The width the network currently runs at."""
        values = {layer.width for layer in slimmable_layers(self)}
        if len(values) != 1:
            raise DistillsrError(f"{type(self).__name__} has layers at mixed widths {sorted(values)}; call set_width")
        return values.pop()

    def check_width(self, width: float) -> float:
        """``width`` as a float if this network allows it, else a :class:`DistillsrError`."""
        try:
            value = float(width)
        except (TypeError, ValueError):
            raise DistillsrError(f"width must be a number, got {width!r}") from None
        if value not in self.widths:
            raise DistillsrError(f"{type(self).__name__} runs at widths {self.widths}, not {width!r}")
        return value

    def set_width(self, width: float) -> None:
        """Run every slimmable layer (nested networks included) at ``width`` from now on."""
        value = self.check_width(width)
        for layer in slimmable_layers(self):
            layer.width = value


@runtime_checkable
class WidthSwitchable(Protocol):
    """What :func:`width` needs: anything with a readable width and ``set_width``."""

    @property
    def width(self) -> float: ...

    def set_width(self, width: float) -> None: ...


Switchable = TypeVar("Switchable", bound=WidthSwitchable)


@contextmanager
def width(model: Switchable, value: float) -> Iterator[Switchable]:
    """Run ``model`` at width ``value`` inside the block, then restore its previous width.

    The previous width comes back even when the block raises, so a failed student forward cannot
    leave the teacher silently running narrow.
    """
    if not isinstance(model, WidthSwitchable):
        raise DistillsrError(f"{type(model).__name__} has no switchable width")
    previous = model.width
    model.set_width(value)
    try:
        yield model
    finally:
        model.set_width(previous)


def active_parameter_count(model: nn.Module, width: float) -> int:
    """Parameters a forward at ``width`` actually uses (CSD's "params at each width").

    Slimmable layers count only their active weight and bias slices; any other parameter is used
    whole. Frozen parameters count (as in :func:`distillsr.efficiency.count_parameters`' total);
    buffers do not. Parameters shared between modules are counted once.
    """
    if isinstance(model, SlimmableNetwork):
        value = model.check_width(width)
    else:
        value = float(width)
        if not 0.0 < value <= FULL_WIDTH:
            raise DistillsrError(f"width must lie in (0, 1], got {width!r}")
    seen: set[int] = set()
    total = 0
    for module in model.modules():
        own = list(module.parameters(recurse=False))
        if all(id(p) in seen for p in own):
            continue
        seen.update(id(p) for p in own)
        if isinstance(module, SlimmableLayer):
            total += module.active_own_parameters(value)
        else:
            total += sum(p.numel() for p in own)
    return total
