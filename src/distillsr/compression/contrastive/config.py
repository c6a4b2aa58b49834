"""The options of ``csd`` and ``pro-csd``: one slimmable network trained at several widths, with a contrastive term.

``kind: csd`` (CSD, Wang et al. IJCAI 2021): the teacher (width ``teacher_width``, default 1.0)
and the student (``student_width``, default 0.25) are the same weights run at two widths and
trained together::

    L = rec(HR, student) + teacher_weight * rec(HR, teacher) + contrastive_weight * CL(student, teacher, negatives)

``rec`` is the stage's ``losses`` (default L1). ``contrastive_weight`` is in CSD's units: its 200
weighs the term against an L1 on 0-255 pixels, so with distillsr's [0, 1] pixel losses the term
enters the total as ``contrastive_weight / 255 * CL`` (the same balance; see
:mod:`distillsr.compression.contrastive.stage`). ``kind: pro-csd`` (Dynamic-CSD's multi-branch
trainer) has several teacher widths (default 1.0, 0.75, 0.5), a reconstruction term on every
branch, and the *narrowest* teacher as the positive. The defaults are the README command's
(``--contra_lambda 200 --t_lambda 1 --neg_num 10``, methods reference §4.2 and §4.6).

Checked when the recipe is read: the model is slimmable (its zoo entry has ``widths``) and every
width is one it runs at (the valid ones are named); the student is narrower than every teacher;
``negatives: others`` has a batch of at least 2; the HR patch is large enough for VGG-19's four
poolings; a ``vgg_weights`` file exists. Whether the default (downloaded) VGG file is there is
found when the stage starts, so a recipe loads on a machine that has not fetched it.

Torch-free at import, like every stage config (the stage table imports it to read recipes); the
stages that run these options are in :mod:`distillsr.compression.contrastive.stage`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal

from distillsr.compression.pruning.criteria import DEFAULT_CRITERION
from distillsr.config.errors import ConfigError
from distillsr.config.schema import doc
from distillsr.training.recipe.checks import require
from distillsr.training.recipe.stages import TrainStageConfig

if TYPE_CHECKING:
    from distillsr.training.recipe.run import RecipeConfig

VGG_MIN_HR_PATCH = 16  # four 2x2 poolings before relu5_1
RANDOM_VGG = "random"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _csd_layer_weights() -> tuple[float, ...]:
    return (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


@dataclass(frozen=True, kw_only=True)
class SelfDistillStageConfig(TrainStageConfig):
    """What ``csd`` and ``pro-csd`` share: the student, the reconstruction and contrastive weights, VGG."""

    student_width: float = field(default=0.25, metadata=doc("width of the student branch (CSD: 0.25)", aliases=("stu_width_mult",)))
    teacher_weight: float = field(
        default=1.0, metadata=doc("lambda_T: factor of each teacher branch's reconstruction loss (CSD: 1)", aliases=("t_lambda",))
    )
    contrastive_weight: float = field(
        default=200.0, metadata=doc("CSD's lambda (README: 200), relative to an L1 on 0-255 pixels: the term counts lambda/255 "
                     "against distillsr's [0, 1] losses; 0 trains without it", aliases=("contra_lambda",))
    )
    num_negatives: int = field(default=10, metadata=doc("negatives per anchor (CSD README: 10)", aliases=("neg_num",)))
    negatives: Literal["batch", "others"] = field(
        default="batch",
        metadata=doc("batch: the official set, the batch's first num_negatives LR images for every anchor (own image "
                     "possible); others: the other images of the anchor's batch"),
    )
    imagenet_norm: bool = field(
        default=False, metadata=doc("false: the official 0-255 values straight into VGG; true: ImageNet mean/std first")
    )
    layer_weights: tuple[float, ...] = field(
        default_factory=_csd_layer_weights,
        metadata=doc("weights of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (CSD: 1/32, 1/16, 1/8, 1/4, 1)", aliases=("vgg_weight",)),
    )
    vgg_weights: str | None = field(
        default=None,
        metadata=doc(f"torchvision-layout VGG-19 file; null: download vgg19-dcbb9e9d.pth once; {RANDOM_VGG}: untrained (not CSD's loss)"),
    )
    vgg_sha256: str | None = field(default=None, metadata=doc("full sha256 the vgg_weights file must have"))
    reorder: Literal["sensitivity", "taylor", "activation", "l2", "none"] = field(
        default=DEFAULT_CRITERION,
        metadata=doc("before training, sort every channel group by this pruning criterion (on 16 training patches, "
                     "at full width), so each narrow width starts from the best channels, not the first ones; the "
                     "full-width network is unchanged. none: keep the order (CSD's code)"),
    )

    @property
    def teachers(self) -> tuple[float, ...]:
        """The teacher widths, widest first."""
        raise NotImplementedError

    @property
    def positive_width(self) -> float:
        """The branch whose output is the contrastive positive: the narrowest teacher."""
        return min(self.teachers)

    @property
    def branch_widths(self) -> tuple[float, ...]:
        """Every width trained, the student first."""
        return (self.student_width, *self.teachers)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0 < self.student_width < 1, "student_width", f"must lie in (0, 1), got {self.student_width}")
        require(self.teacher_weight >= 0, "teacher_weight", f"must be zero or more, got {self.teacher_weight}")
        require(self.contrastive_weight >= 0, "contrastive_weight", f"must be zero or more, got {self.contrastive_weight}")
        require(self.num_negatives >= 1, "num_negatives", f"must be at least 1, got {self.num_negatives}")
        require(len(self.layer_weights) == 5, "layer_weights", f"needs 5 values (relu1_1 ... relu5_1), got {len(self.layer_weights)}")
        require(all(w >= 0 for w in self.layer_weights), "layer_weights", "must be zero or more")
        if self.vgg_weights is not None and self.vgg_weights != RANDOM_VGG:
            require(Path(self.vgg_weights).expanduser().is_file(), "vgg_weights",
                    f"no VGG-19 weights file at {self.vgg_weights} (null downloads torchvision's; {RANDOM_VGG} for untrained)")
        require(self.vgg_sha256 is None or bool(_SHA256.fullmatch(self.vgg_sha256)), "vgg_sha256",
                "must be 64 hex digits")
        require(self.vgg_sha256 is None or self.vgg_weights not in (None, RANDOM_VGG), "vgg_sha256",
                "applies to a vgg_weights file (the download is checked by the hash in its name)")

    def check_teachers(self, path: str) -> None:
        """Teacher widths in (0, 1], distinct, each wider than the student."""
        teachers = self.teachers
        require(len(teachers) >= 1, path, "needs at least one teacher width")
        require(len(set(teachers)) == len(teachers), path, f"repeats a width: {list(teachers)}")
        for value in teachers:
            require(0 < value <= 1, path, f"widths must lie in (0, 1], got {value}")
            require(value > self.student_width, path,
                    f"every teacher must be wider than the student ({self.student_width}), got {value}")

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        """Patch size (the training stage's check, and VGG's), slimmable model and widths, batch for the negatives."""
        super().check_in_recipe(recipe, index)
        where = f"stages.{index}"
        valid = _model_widths(recipe)
        for key, values in (("student_width", (self.student_width,)), (self.teachers_key, self.teachers)):
            for value in values:
                require(value in valid, f"{where}.{key}",
                        f"model {recipe.model.name} runs at widths {', '.join(f'{w:g}' for w in valid)}, not {value:g}")
        batch = self.batch_size or recipe.data.train.batch_size
        require(self.negatives != "others" or self.contrastive_weight == 0 or batch >= 2,
                f"{where}.batch_size" if self.batch_size else "data.train.batch_size",
                "negatives: others takes each image's negatives from the other images of its batch: use a batch of 2 "
                "or more (or negatives: batch, the official same-batch draw)")
        patch = (self.lr_patch_size or recipe.data.train.lr_patch_size) * recipe.model.scale
        require(self.contrastive_weight == 0 or patch >= VGG_MIN_HR_PATCH,
                f"{where}.lr_patch_size" if self.lr_patch_size else "data.train.lr_patch_size",
                f"the contrastive loss runs VGG-19 to relu5_1 (four poolings) on the HR-sized outputs, which needs "
                f"{VGG_MIN_HR_PATCH} px or more; this patch gives {patch} px")

    teachers_key: ClassVar[str] = "teacher_width"


@dataclass(frozen=True, kw_only=True)
class CSDStageConfig(SelfDistillStageConfig):
    """CSD: a teacher width and a student width of one slimmable network, trained jointly with a contrastive term."""

    kind: ClassVar[str] = "csd"
    runner: ClassVar[str | type] = "distillsr.compression.contrastive.stage:CSDStage"
    teachers_key: ClassVar[str] = "teacher_width"

    teacher_width: float = field(default=1.0, metadata=doc("width of the teacher branch, the positive (CSD: 1.0)"))

    @property
    def teachers(self) -> tuple[float, ...]:
        return (self.teacher_width,)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_teachers("teacher_width")


@dataclass(frozen=True, kw_only=True)
class ProCSDStageConfig(SelfDistillStageConfig):
    """Pro-CSD: several teacher widths and a student, reconstruction on every branch, the narrowest teacher as positive."""

    kind: ClassVar[str] = "pro-csd"
    runner: ClassVar[str | type] = "distillsr.compression.contrastive.stage:ProCSDStage"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"pro_csd": "pro-csd", "procsd": "pro-csd"})
    teachers_key: ClassVar[str] = "teacher_widths"

    teacher_widths: tuple[float, ...] = field(
        default=(1.0, 0.75, 0.5),
        metadata=doc("teacher branch widths; the narrowest is the contrastive positive (Dynamic-CSD: 1.0, 0.75, 0.5)"),
    )

    @property
    def teachers(self) -> tuple[float, ...]:
        return tuple(sorted(self.teacher_widths, reverse=True))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_teachers("teacher_widths")


def _model_widths(recipe: RecipeConfig) -> tuple[float, ...]:
    """The widths the recipe's network runs at (its ``widths`` kwarg, else the zoo's); refused if not slimmable."""
    entry = recipe.model.zoo_entry()
    if not entry.widths:
        from distillsr.models.zoo import ZOO

        slimmable = ", ".join(name for name, row in ZOO.items() if row.widths)
        raise ConfigError("model.name", f"model {entry.name} is not slimmable (it has no widths to train); "
                                        f"slimmable models: {slimmable}")
    import torch

    from distillsr.nn.slimmable import SlimmableNetwork

    with torch.device("meta"):
        network = entry.build(recipe.model.scale, **recipe.model.kwargs)
    if not isinstance(network, SlimmableNetwork):
        raise ConfigError("model.name", f"model {entry.name} lists widths but does not build a slimmable network")
    return tuple(network.widths)
