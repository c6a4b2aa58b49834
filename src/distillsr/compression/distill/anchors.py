"""Anchors: named places in a network (module paths) whose outputs feature distillation compares.

An anchor is any module that produces exactly one 4-D feature map per forward pass, named by its
path in ``named_modules()`` (``block_1`` in DIPNet, ``B1`` in RFDN, ``block_1.c5`` deeper in).
Which names qualify is found by running the network once on the meta device with forward hooks
on every module: no memory, no arithmetic and no side effects (BatchNorm statistics, RNG) even
for a network with real weights, because :func:`torch.func.functional_call` swaps meta tensors in
for its parameters and buffers. A module that runs more than once per forward (a shared
activation) has no single output, so it is not an anchor.

Features are captured during a real forward with the same hooks (:class:`FeatureCapture`),
installed only for that call, so no hook outlives the step that needs it: copies of the network
(EMA shadows, folded or exported models) never carry one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import nn

from distillsr.errors import DistillsrError

SHAPES_INPUT_SIZE = 32  # input side of the shapes pass: above every zoo model's minimum (ESA: 15)
LISTED_NAMES = 20  # an unknown-anchor error lists at most this many valid names (RCAN has ~1800)

FeatureDistance = Literal["l1", "l2"]


class AnchorPairLike(Protocol):
    """What the distillation code reads of a pair: the recipe's ``AnchorPairConfig`` fits."""

    student: str
    teacher: str
    weight: float
    loss: str


@dataclass(frozen=True)
class AnchorPair:
    """A student anchor matched to a teacher anchor, with its weight and distance (``l1``/``l2``)."""

    student: str
    teacher: str
    weight: float = 1.0
    loss: FeatureDistance = "l1"

    def __post_init__(self) -> None:
        if self.loss not in ("l1", "l2"):
            raise DistillsrError(
                f"anchor pair {self.student} -> {self.teacher}: loss must be l1 or l2, not {self.loss!r}"
            )
        if self.weight < 0:
            raise DistillsrError(f"anchor pair {self.student} -> {self.teacher}: weight must be zero or more")


def pair_key(pair: AnchorPairLike) -> str:
    """The stable name of a pair: its adapter's key in the state dict and its entry in ``extras``.

    ``nn.ModuleDict`` refuses dots in keys, and module paths have them; ``/`` never appears in a
    module path, so the mapping is reversible and two different pairs never share a key.
    """
    return f"{pair.student}:{pair.teacher}".replace(".", "/")


def feature_shapes(
    network: nn.Module, *, in_channels: int = 3, size: int = SHAPES_INPUT_SIZE
) -> dict[str, tuple[int, int, int]]:
    """``(channels, height, width)`` of every anchor for a ``size`` x ``size`` input, in module order.

    Runs on the meta device whatever device ``network`` lives on, so it is free for any model
    and leaves the network untouched.
    """
    paths = {module: path for path, module in network.named_modules() if path}
    calls: dict[str, int] = {}
    shapes: dict[str, tuple[int, int, int]] = {}
    batch = 2  # BatchNorm in training mode refuses a batch of one value per channel

    def record(module: nn.Module, inputs, output) -> None:
        path = paths[module]
        calls[path] = calls.get(path, 0) + 1
        if isinstance(output, torch.Tensor) and output.ndim == 4 and output.shape[0] == batch:
            shapes[path] = (int(output.shape[1]), int(output.shape[2]), int(output.shape[3]))

    handles = [module.register_forward_hook(record) for module in paths]
    tensors = {name: torch.empty_like(t, device="meta") for name, t in network.named_parameters()}
    tensors.update({name: torch.empty_like(t, device="meta") for name, t in network.named_buffers()})
    try:
        with torch.no_grad():
            torch.func.functional_call(network, tensors, (torch.empty(batch, in_channels, size, size, device="meta"),))
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as error:
        name = type(network).__name__
        raise DistillsrError(
            f"cannot list the anchors of {name}: its forward pass fails on the meta device ({error})"
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    return {path: shapes[path] for path in paths.values() if path in shapes and calls.get(path) == 1}


def anchor_names(network: nn.Module, *, in_channels: int = 3, size: int = SHAPES_INPUT_SIZE) -> list[str]:
    """The valid anchors of ``network``: module paths whose output is one 4-D feature map."""
    return list(feature_shapes(network, in_channels=in_channels, size=size))


def closest_first(name: str, valid: Iterable[str]) -> list[str]:
    """``valid`` ordered by closeness to ``name``: same depth in the module tree first, then by
    difflib's similarity, then in network order (``B5`` lists ``B1``..``B4`` before ``B1.c5``)."""
    names = list(valid)
    rank = {candidate: index for index, candidate in enumerate(names)}
    depth = name.count(".")

    def score(candidate: str) -> tuple[int, float, int]:
        similarity = difflib.SequenceMatcher(None, name, candidate).ratio()
        return (abs(candidate.count(".") - depth), -similarity, rank[candidate])

    return sorted(names, key=score)


def unknown_anchor_message(name: str, valid: Sequence[str], *, role: str, model: str) -> str:
    """One line: the unknown anchor, and the valid names closest first (capped, with the count left)."""
    ordered = closest_first(name, valid)
    listed = ", ".join(ordered[:LISTED_NAMES])
    more = f" (and {len(ordered) - LISTED_NAMES} more)" if len(ordered) > LISTED_NAMES else ""
    return (
        f"unknown {role} anchor {name!r} in {model}: not a module with one 4-D feature map per forward; "
        f"valid anchors, closest first: {listed}{more}"
    )


def check_anchor(
    name: str, shapes: Mapping[str, tuple[int, int, int]], *, role: str, model: str
) -> tuple[int, int, int]:
    """The shape at anchor ``name``, or a :class:`DistillsrError` listing the valid names."""
    if name not in shapes:
        raise DistillsrError(unknown_anchor_message(name, list(shapes), role=role, model=model))
    return shapes[name]


def check_pairs(
    pairs: Sequence[AnchorPairLike],
    student_shapes: Mapping[str, tuple[int, int, int]],
    teacher_shapes: Mapping[str, tuple[int, int, int]],
    *,
    student: str = "the student",
    teacher: str = "the teacher",
) -> None:
    """Every pair names real anchors of matching spatial size, and no pair is listed twice.

    Both shape tables must come from the same input size. Channels may differ (an adapter maps
    them); the spatial size may not, since the losses compare feature maps pixel by pixel.
    """
    seen: set[str] = set()
    for pair in pairs:
        key = pair_key(pair)
        if key in seen:
            raise DistillsrError(f"anchor pair {pair.student} -> {pair.teacher} is listed twice")
        seen.add(key)
        _, sh, sw = check_anchor(pair.student, student_shapes, role="student", model=student)
        _, th, tw = check_anchor(pair.teacher, teacher_shapes, role="teacher", model=teacher)
        if (sh, sw) != (th, tw):
            raise DistillsrError(
                f"anchor pair {pair.student} -> {pair.teacher}: the feature maps differ in size "
                f"({sh}x{sw} in {student}, {th}x{tw} in {teacher} for the same input); "
                "pair anchors at the same resolution"
            )


class FeatureCapture:
    """Forward hooks that keep the outputs of named modules for one forward pass (a context manager).

    Hooks go on the bare network (inside DDP and value-range wrappers) and come off on exit, so a
    validation pass or an EMA copy made later never captures anything. Each output is kept as a
    copy (differentiable): EDSR, RCAN and CARN apply in-place ReLUs to some modules' outputs later
    in the same forward, which would otherwise change the captured feature after the fact.
    """

    def __init__(self, network: nn.Module, names: Iterable[str]) -> None:
        self.network = network
        self.names = tuple(dict.fromkeys(names))
        self.features: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def __enter__(self) -> dict[str, torch.Tensor]:
        self.features = {}
        for name in self.names:
            try:
                module = self.network.get_submodule(name)
            except AttributeError:
                self._remove()
                raise DistillsrError(f"{type(self.network).__name__} has no module {name!r} to capture") from None
            self._handles.append(module.register_forward_hook(self._keeper(name)))
        return self.features

    def __exit__(self, *exc_info) -> None:
        self._remove()

    def _keeper(self, name: str):
        def keep(module: nn.Module, inputs, output) -> None:
            self.features[name] = output.clone()  # an in-place op later in the forward (EDSR's ReLU) must not reach it

        return keep

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def missing(self) -> list[str]:
        """Names whose module did not run during the capture (a forward that skips a branch)."""
        return [name for name in self.names if name not in self.features]
