"""What a recognised official checkpoint turns into, and the key-and-shape check every family runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from distillsr.checkpoints.misfit import misfits
from distillsr.errors import DistillsrError


@dataclass
class Conversion:
    """An official state dict recognised and rewritten into distillsr's layout.

    ``model`` is the zoo name, ``kwargs`` the constructor arguments beyond ``scale`` that the
    tensor shapes imply (they override the zoo entry's defaults), ``state_dict`` the tensors under
    the names distillsr's module expects, and ``layout`` a human description of what was
    recognised (e.g. "RFDN_AIM.pth (njulj/RFDN), E-RFDN x4").
    """

    model: str
    scale: int
    kwargs: dict = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    layout: str = ""
    input_range: float = 1.0


def strip_prefix(state_dict: dict[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Drop a DataParallel-style prefix when every key carries it."""
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def upsampler_scale(out_channels: int, image_channels: int = 3) -> int | None:
    """The pixel-shuffle scale ``s`` with ``out_channels == image_channels * s * s``, if any."""
    for scale in range(1, 9):
        if image_channels * scale * scale == out_channels:
            return scale
    return None


def are_conv_weights(state_dict: dict[str, torch.Tensor], *names: str) -> bool:
    """Whether each named tensor is 4-D, as a conv weight is: detectors read shapes from them."""
    return all(state_dict[name].dim() == 4 for name in names)


class LayoutMismatch(DistillsrError):
    """A state dict in a family's official key layout whose tensors do not fit the network that
    the hyperparameters read from it build.

    Detectors raise it instead of returning None once the family's own names are present: "not a
    layout distillsr knows" would hide which tensor is wrong. The message names no file (a detector
    only sees tensors); :func:`distillsr.checkpoints.weights_file.read_weights` prefixes it.
    """


class AmbiguousLayout(DistillsrError):
    """A state dict whose layout is that of two families that differ in something no tensor shows.

    RLFN and DIPNet share their key layout (DIPNet is RLFN pruned and re-parameterised), but RLFN
    was trained on 0-255 input and DIPNet on 0-1: the same tensors are a different model in each.
    Guessing would give a plausible-looking but wrong picture, so the detector raises this instead,
    with one :class:`Conversion` per reading; the caller takes the one the user names
    (:meth:`choose`) or refuses in one line naming the choices. Files known by their sha256 never
    get here (:mod:`.known`).
    """

    def __init__(self, layout: str, choices: tuple[tuple[tuple[str, ...], Conversion], ...], hidden: str) -> None:
        self.layout = layout
        self.choices = choices
        self.hidden = hidden
        readings = " and ".join(
            f"{conversion.model}'s (input 0-{conversion.input_range:g})" for _, conversion in choices
        )
        super().__init__(f"recognised as {layout}, which is both {readings}, and a state dict cannot show {hidden}")

    @property
    def options(self) -> list[str]:
        """The ``-m NAME`` choices, one per reading (the zoo name the tensors' widths fit best)."""
        return [f"-m {conversion.model}" for _, conversion in self.choices]

    def choose(self, model: str) -> Conversion | None:
        """The reading the zoo model ``model`` belongs to (any name of its family), or None."""
        for names, conversion in self.choices:
            if model in names:
                layout = f"{conversion.layout}, read as {model} (named by the user)"
                return replace(conversion, model=model, layout=layout)
        return None


def network_shapes(model: str, scale: int, kwargs: dict) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the zoo model ``model`` as ``load_model`` builds it from these kwargs.

    Built through the zoo entry (defaults, then ``kwargs``), so what is checked is exactly what
    will be loaded, on the meta device: no memory, no initialisation, milliseconds even at full size.
    """
    from distillsr.models.zoo import get_entry

    with torch.device("meta"):
        network = get_entry(model).build(scale, **kwargs)
    return {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}


def check_layout(
    state_dict: dict[str, torch.Tensor], model: str, scale: int, kwargs: dict, layout: str
) -> None:
    """Raise :class:`LayoutMismatch` unless ``state_dict`` has exactly the keys and shapes of the
    network the inferred hyperparameters build.

    Every detector ends here, so no family accepts a file on a few telling shapes and leaves the
    rest to fail later, in a load that no longer knows which file it was. ``layout`` says what was
    recognised; the message names the first missing, unexpected and mis-shaped tensors.
    """
    try:
        expected = network_shapes(model, scale, kwargs)
    except (DistillsrError, ValueError, RuntimeError, ZeroDivisionError) as error:
        raise LayoutMismatch(
            f"recognised as {layout}, but those shapes imply {model} x{scale} with {kwargs}, which does not build ({error})"
        ) from None
    problems = misfits(state_dict, expected)
    if problems:
        raise LayoutMismatch(
            f"recognised as {layout}, but its tensors do not fit the {model} x{scale} network those shapes imply: "
            + "; ".join(problems)
        )


def agrees_with_defaults(model: str, kwargs: dict) -> bool:
    """Whether ``kwargs`` equal the zoo entry's defaults on every key both name."""
    from distillsr.models.zoo import get_entry

    defaults = get_entry(model).defaults
    return all(defaults[key] == value for key, value in kwargs.items() if key in defaults)


def zoo_name(candidates: tuple[str, ...], kwargs: dict) -> str:
    """The first zoo entry among ``candidates`` whose defaults agree with ``kwargs``; the last
    candidate otherwise (the family's general entry).

    Entries of one family share a constructor, so any of them builds the same network from the
    full kwargs; the name matters because ``load_model(name, ...)`` refuses a file that holds
    another model, so a released configuration is named as the zoo names it (EDIPv1, RFDN-L).
    """
    for name in candidates[:-1]:
        if agrees_with_defaults(name, kwargs):
            return name
    return candidates[-1]
