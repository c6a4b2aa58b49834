"""The network a recipe trains: a zoo name, a scale, and hyperparameters checked against the real class.

The zoo's factories take ``**kwargs``, so the only place the true hyperparameter names and types
live is the class a factory builds; it is found by building on the meta device (no memory, no
weights), which needs torch: every function here imports it when called, never at import time.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distillsr.config.errors import ConfigError, nearest
from distillsr.config.schema import doc
from distillsr.errors import DistillsrError
from distillsr.training.recipe.checks import positive, require


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which zoo network to train; its hyperparameters are the zoo defaults plus ``kwargs``."""

    name: str = field(
        metadata=doc("zoo name of the network (`distillsr zoo` lists them), e.g. rfdn, e-rfdn, ddistill-sr")
    )
    scale: int = field(metadata=doc("upscaling factor; one the zoo entry supports"))
    kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata=doc("constructor arguments overriding the zoo defaults, checked against the model class's signature"),
    )

    def __post_init__(self) -> None:
        positive(self.scale, "scale")
        entry = self.zoo_entry()
        require(
            entry.supports(self.scale),
            "scale",
            f"model {entry.name} exists for scales {', '.join(map(str, entry.scales or ()))}, not x{self.scale}",
        )
        if self.kwargs:
            check_model_kwargs(self.name, self.scale, self.kwargs)

    def zoo_entry(self):
        """The zoo entry (imported here, not at module import: the zoo pulls in torch)."""
        from distillsr.models.zoo import get_entry

        try:
            return get_entry(self.name)
        except DistillsrError as error:
            raise ConfigError("name", str(error)) from None


@functools.cache
def model_class(name: str, scale: int) -> type:
    """The class a zoo entry builds, found by building it on the meta device (no memory, no init).

    The zoo's factories import their class lazily and take ``**kwargs``, so the class is the only
    place the real hyperparameter names live. Cached: reading a recipe asks several times.
    """
    import torch

    from distillsr.models.zoo import get_entry

    with torch.device("meta"):
        return type(get_entry(name).build(scale))


def model_parameters(name: str, scale: int) -> dict[str, inspect.Parameter]:
    """The constructor parameters a recipe may set in ``model.kwargs`` (``scale`` has its own key)."""
    signature = inspect.signature(model_class(name, scale))
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {n: p for n, p in signature.parameters.items() if p.kind in kinds and n not in ("self", "scale")}


def model_annotations(name: str, scale: int) -> dict[str, Any]:
    """Resolved type hints of the constructor (empty when they cannot be resolved)."""
    cls = model_class(name, scale)
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError, AttributeError, SyntaxError):  # an unresolvable annotation only skips the type check
        return {}


def check_model_kwargs(name: str, scale: int, kwargs: Mapping[str, Any]) -> None:
    """Unknown hyperparameters are errors naming the nearest real one; values must build the model.

    The build runs on the meta device, so a combination the constructor rejects (a reduction that
    leaves no channels, a block kind that does not exist) fails here, not hours into data caching.
    """
    if "scale" in kwargs:
        raise ConfigError("kwargs.scale", "set the scale with model.scale, not in model.kwargs")
    parameters = model_parameters(name, scale)
    cls_name = model_class(name, scale).__name__
    for key in kwargs:
        if key not in parameters:
            close = nearest(key, parameters)
            hint = f"did you mean {close!r}?" if close else f"valid ones: {', '.join(parameters)}"
            raise ConfigError(f"kwargs.{key}", f"{cls_name} (model {name}) has no hyperparameter {key!r}; {hint}")
    import torch

    from distillsr.models.zoo import get_entry

    try:
        with torch.device("meta"):
            get_entry(name).build(scale, **kwargs)
    except DistillsrError as error:
        raise ConfigError("kwargs", str(error)) from None
    except (NotImplementedError, RuntimeError):  # needs real tensors to build: checked at train time
        pass
