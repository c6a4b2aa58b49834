"""Every :class:`Foldable` in distillsr folds exactly, found without anyone listing it.

The blocks are collected at collection time by importing every module of ``distillsr.nn`` and
``distillsr.models`` and walking ``Foldable.__subclasses__()`` recursively, so a new foldable block
is checked the moment it exists. Each one supplies a small random instance through its
``fold_example`` hook; a block without the hook fails here, naming itself. A class that does not
implement ``fold`` is an abstract base (e.g. ``DiverseBranches``): it cannot be deployed, and its
concrete subclasses are what gets checked.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil

import pytest
import torch
from support.models import FOLD_TOLERANCE, max_diff
from torch import nn

import distillsr.models
import distillsr.nn
from distillsr.nn.reparam import Foldable, deploy, fuse_bn, is_deployed


def foldable_classes() -> list[type[Foldable]]:
    """All Foldable subclasses defined in distillsr (test-local subclasses stay out)."""
    for package in (distillsr.nn, distillsr.models):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: set[type[Foldable]] = set()
    pending = [Foldable]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return sorted((c for c in found if c.__module__.startswith("distillsr.")), key=qualified_name)


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def is_abstract(cls: type[Foldable]) -> bool:
    return cls.fold is Foldable.fold


def check_fold_example(cls: type[Foldable]) -> None:
    """``cls.fold_example()``'s deploy form equals its train form in fp32 and float64."""
    name = qualified_name(cls)
    if "fold_example" not in vars(cls):
        pytest.fail(
            f"{name} is a Foldable without its own fold_example() classmethod: add one that returns "
            "cls.random_example(<small instance>, <input shape>), so its fold is tested", pytrace=False,
        )
    for dtype in (torch.float32, torch.float64):
        module, x = cls.fold_example()
        assert type(module) is cls, f"{name}.fold_example() built a {qualified_name(type(module))}"
        train = module.to(dtype).eval()
        x = x.to(dtype)
        with torch.no_grad():
            expected = train(x)
            folded = deploy(copy.deepcopy(train))
            assert is_deployed(folded), f"{name} folds into a module that still holds a Foldable"
            difference = max_diff(folded(x), expected)
            assert difference <= FOLD_TOLERANCE[dtype], f"{name} in {dtype}: deploy form differs by {difference}"
            assert max_diff(train(x), expected) == 0, f"folding {name} changed its train form"


FOLDABLE = foldable_classes()
CONCRETE = [cls for cls in FOLDABLE if not is_abstract(cls)]


def test_the_known_blocks_are_found():
    names = {cls.__qualname__ for cls in CONCRETE}
    assert {"DiverseBranchBlock", "DynamicDBB", "RRRB", "Conv3XC", "EDBB"} <= names
    assert "DiverseBranches" not in names  # the abstract base of the DBB family


@pytest.mark.parametrize("cls", CONCRETE, ids=qualified_name)
def test_every_foldable_folds_exactly(cls):
    check_fold_example(cls)


# --- the check itself: it must catch what it is for ---------------------------------------------


class _ConvBN(Foldable):
    """A conv followed by BatchNorm; the fold is exact unless ``ignore_stats`` drops the running stats."""

    ignore_stats = False

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fold(self) -> nn.Conv2d:
        bn = copy.deepcopy(self.bn)
        if self.ignore_stats:
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
        kernel, bias = fuse_bn(self.conv.weight.detach(), self.conv.bias.detach(), bn)
        conv = nn.Conv2d(3, 4, 3, padding=1).to(kernel.dtype)
        with torch.no_grad():
            conv.weight.copy_(kernel)
            conv.bias.copy_(bias)
        return conv

    @classmethod
    def fold_example(cls) -> tuple[nn.Module, torch.Tensor]:
        return cls.random_example(cls(), (2, 3, 6, 5))


class _StatsIgnoringConvBN(_ConvBN):
    ignore_stats = True

    @classmethod
    def fold_example(cls) -> tuple[nn.Module, torch.Tensor]:
        return cls.random_example(cls(), (2, 3, 6, 5))


class _WithoutExample(_ConvBN):
    pass


def test_check_passes_a_correct_fold():
    check_fold_example(_ConvBN)


def test_check_catches_a_fold_that_ignores_batchnorm_statistics():
    with pytest.raises(AssertionError, match="deploy form differs"):
        check_fold_example(_StatsIgnoringConvBN)


def test_a_foldable_without_its_own_example_fails_by_name():
    with pytest.raises(pytest.fail.Exception, match=r"_WithoutExample is a Foldable without its own fold_example"):
        check_fold_example(_WithoutExample)


def test_the_base_hook_names_the_class():
    class Bare(Foldable):
        pass

    with pytest.raises(NotImplementedError, match="Bare does not implement Foldable.fold_example"):
        Bare.fold_example()


def test_test_local_subclasses_are_not_collected():
    assert not any(cls.__module__ == __name__ or "test" in cls.__module__ for cls in foldable_classes())
