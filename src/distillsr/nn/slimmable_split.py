"""Channel splitting for tensors made of segments: distillation networks at any width.

IMDN and RFDN split features into distilled and remaining channels and concatenate the pieces
again. Slicing "the first ``int(w * C)`` channels" of such a tensor (as CSD's CARN does with its
concatenations) would hand a narrow member's channels to the weights the full network uses for
another member. Here every segment keeps its own first ``int(w * size)`` channels, so each width is
exactly the full network with the dropped channels' weights zeroed:

* :class:`SplitSlimmableConv2d` slices each segment of its input and/or output on its own;
* :class:`SlimmableCCA` is IMDN's channel attention on such a tensor.

They follow the width protocol of :mod:`distillsr.nn.slimmable`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from distillsr.nn.attention import CCA
from distillsr.nn.slimmable import FULL_WIDTH, SlimmableConv2d, active_channels


def segment_sizes(segments: Sequence[int], width: float) -> list[int]:
    """Channels each segment keeps at ``width``: ``int(width * size)`` of every one, on its own."""
    return [active_channels(size, width) for size in segments]


def segment_indices(segments: Sequence[int], width: float, device: torch.device | None = None) -> torch.Tensor:
    """Indices of the channels kept at ``width``: the first ``int(width * size)`` of every segment."""
    starts = [sum(segments[:index]) for index in range(len(segments))]
    kept = [torch.arange(start, start + n, device=device) for start, n in zip(starts, segment_sizes(segments, width))]
    return torch.cat(kept)


class SplitSlimmableConv2d(SlimmableConv2d):
    """A slimmable conv whose input and/or output is a concatenation (or a split) of segments,
    each sliced on its own: at width ``w`` it keeps the first ``int(w * size)`` channels *of every
    segment*, not the first channels of the whole tensor.

    This is what keeps a network with channel splits a consistent sub-network of itself at every
    width. A 1x1 fusion of ``[d1, d2, d3, d4]`` (four 16-channel members) at ``w = 0.5`` reads
    kernel columns ``0..7, 16..23, 32..39, 48..55``: exactly the columns the full network applies
    to the eight channels each narrow member still has. A conv whose output is split into
    distilled and remaining parts (IMDN: 16 + 48) keeps ``0..7`` and ``16..39``, so the narrow
    remaining part is the first channels of the full one. (CSD's CARN instead keeps the leading
    columns of the whole concatenation, which is not a sub-network; see
    :mod:`distillsr.models.carn`.)

    ``in_segments`` / ``out_segments`` default to one segment (the plain prefix rule). The kept
    slice is gathered with ``index_select`` (a copy whose gradient lands in the full weight); with
    one segment, or at full width, it is the same view :class:`SlimmableConv2d` uses.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        in_segments: Sequence[int] | None = None,
        out_segments: Sequence[int] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, **kwargs)
        self.in_segments = tuple(in_segments) if in_segments is not None else (in_channels,)
        self.out_segments = tuple(out_segments) if out_segments is not None else (out_channels,)
        for name, segments, total in (("in", self.in_segments, in_channels), ("out", self.out_segments, out_channels)):
            if sum(segments) != total or min(segments) < 1:
                raise ValueError(f"{name}_segments {segments} do not split {total} channels")
        if (len(self.in_segments) > 1 and self.in_multiple != 1) or (len(self.out_segments) > 1 and self.out_multiple != 1):
            raise ValueError("segments and channel multiples do not combine")

    def active_in_channels(self, width: float | None = None) -> int:
        if len(self.in_segments) == 1 or not self.slice_in:
            return super().active_in_channels(width)
        return sum(segment_sizes(self.in_segments, self.width if width is None else width))

    def active_out_channels(self, width: float | None = None) -> int:
        if len(self.out_segments) == 1 or not self.slice_out:
            return super().active_out_channels(width)
        return sum(segment_sizes(self.out_segments, self.width if width is None else width))

    def active_out_segments(self, width: float | None = None) -> list[int]:
        """The sizes the output splits into at ``width`` (what the caller's ``torch.split`` needs)."""
        if not self.slice_out:
            return list(self.out_segments)
        return segment_sizes(self.out_segments, self.width if width is None else width)

    def _kept(self, segments: tuple[int, ...], width: float | None) -> torch.Tensor | None:
        """Indices to gather along one axis, or None where a prefix slice (a view) does."""
        w = self.width if width is None else width
        if len(segments) == 1 or w == FULL_WIDTH:
            return None
        return segment_indices(segments, w, self.weight.device)

    def active_weight(self, width: float | None = None) -> torch.Tensor:
        rows = self._kept(self.out_segments, width) if self.slice_out else None
        columns = self._kept(self.in_segments, width) if self.slice_in else None
        if rows is None and columns is None:
            return super().active_weight(width)
        weight = self.weight if rows is None else self.weight.index_select(0, rows)
        weight = weight[: self.active_out_channels(width)] if rows is None else weight
        weight = weight.index_select(1, columns) if columns is not None else weight[:, : self.active_in_channels(width)]
        return weight

    def active_bias(self, width: float | None = None) -> torch.Tensor | None:
        rows = self._kept(self.out_segments, width) if self.slice_out else None
        if self.bias is None or rows is None:
            return super().active_bias(width)
        return self.bias.index_select(0, rows)

    def active_indices(self, side: str, width: float | None = None) -> torch.Tensor:
        """Which of the full input (``side="in"``) or output (``"out"``) channels run at ``width``
        (for tests and masks)."""
        if side not in ("in", "out"):
            raise ValueError(f"side must be 'in' or 'out', not {side!r}")
        w = self.width if width is None else width
        sliced, segments = (self.slice_in, self.in_segments) if side == "in" else (self.slice_out, self.out_segments)
        if not sliced or len(segments) == 1:
            count = self.active_in_channels(w) if side == "in" else self.active_out_channels(w)
            return torch.arange(count)
        return segment_indices(segments, w)

    def min_width_ok(self, width: float) -> bool:
        """Every segment keeps a channel: an emptied member would silently drop out of the network."""
        outs = segment_sizes(self.out_segments, width) if self.slice_out else [1]
        ins = segment_sizes(self.in_segments, width) if self.slice_in else [1]
        return min(outs) > 0 and min(ins) > 0 and super().min_width_ok(width)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()]
        if len(self.in_segments) > 1:
            parts.append(f"in_segments={self.in_segments}")
        if len(self.out_segments) > 1:
            parts.append(f"out_segments={self.out_segments}")
        return ", ".join(parts)


class SlimmableCCA(CCA):
    """IMDN's contrast-aware channel attention, sliced with the tensor it re-weights.

    The attention is per channel, so it only has to read and write the channels that run:
    the squeeze conv reads the kept channels of each ``segments`` member, its ``int(w * hidden)``
    first hidden units run, and the excite conv writes the same kept channels. Module names and
    the full-width state dict are :class:`~distillsr.nn.attention.CCA`'s.
    """

    def __init__(self, channels: int, reduction: int = 16, segments: Sequence[int] | None = None) -> None:
        super().__init__(channels, reduction)
        hidden = self.conv_du[0].out_channels
        self.conv_du[0] = SplitSlimmableConv2d(channels, hidden, 1, in_segments=segments)
        self.conv_du[2] = SplitSlimmableConv2d(hidden, channels, 1, out_segments=segments)
