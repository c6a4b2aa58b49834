"""The data part of a recipe: training images and patch sampling, tiling, and validation sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require

Degradation = Literal["BI", "BD", "DN"]


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Random geometric transforms of each training patch, each applied with probability 1/2."""

    hflip: bool = field(default=True, metadata=doc("random horizontal flip"))
    vflip: bool = field(default=True, metadata=doc("random vertical flip"))
    rot90: bool = field(
        default=True,
        metadata=doc("random 90-degree rotation (a transpose); with both flips it reaches all 8 orientations"),
    )


@dataclass(frozen=True, kw_only=True)
class SubImagesConfig:
    """Cut large HR images into tiles once, so each patch decodes a small file (BasicSR's extract_subimages)."""

    crop: int = field(
        default=480, metadata=doc("tile side in HR pixels (BasicSR: crop_size 480 for DIV2K)", aliases=("crop_size",))
    )
    step: int = field(default=240, metadata=doc("distance between tile origins; below `crop` the tiles overlap"))
    thresh: int = field(
        default=0,
        metadata=doc(
            "add a last tile flush with the edge when more than this many pixels are left", aliases=("thresh_size",)
        ),
    )
    folder: str | None = field(
        default=None, metadata=doc("where the tiles go; null: under the cache folder, named after the settings")
    )

    def __post_init__(self) -> None:
        positive(self.crop, "crop")
        positive(self.step, "step")
        require(self.thresh >= 0, "thresh", f"must be zero or more, got {self.thresh}")


@dataclass(frozen=True, kw_only=True)
class TrainDataConfig:
    """Where training pairs come from and how patches are cut; LR is made from HR unless given."""

    hr_folders: tuple[str, ...] = field(
        metadata=doc(
            "folders of HR training images (relative paths: from the working directory)", aliases=("dataroot_gt",)
        )
    )
    lr_folders: tuple[str, ...] | None = field(
        default=None,
        metadata=doc(
            "matching folders of stored LR images (e.g. DIV2K_train_LR_bicubic/X4); null: made from HR by `degradation`",
            aliases=("dataroot_lq",),
        ),
    )
    degradation: Degradation = field(
        default="BI",
        metadata=doc("how LR is made from HR when no LR folders are given: BI, BD or DN (also used for validation)"),
    )
    lr_patch_size: int = field(
        default=48, metadata=doc("side of a training patch in LR pixels (the HR patch is scale times larger)")
    )
    batch_size: int = field(
        default=16,
        metadata=doc("patches per iteration in total, split evenly over the processes of a distributed run"),
    )
    num_workers: int = field(
        default=4, metadata=doc("data-loading worker processes per training process", aliases=("num_worker_per_gpu",))
    )
    augment: AugmentConfig = field(
        default_factory=AugmentConfig, metadata=doc("random flips and rotations of each patch")
    )
    repeat: int = field(
        default=1,
        metadata=doc(
            "times the image list is repeated per epoch, so small sets do not stall on epoch turnover",
            aliases=("dataset_enlarge_ratio",),
        ),
    )
    cache_dir: str | None = field(
        default=None,
        metadata=doc("cache for LR images made on the fly; null: $DISTILLSR_CACHE_DIR or ~/.cache/distillsr"),
    )
    sub_images: SubImagesConfig | None = field(
        default=None, metadata=doc("cut HR images into tiles before training; null trains on the images as they are")
    )

    def __post_init__(self) -> None:
        require(len(self.hr_folders) > 0, "hr_folders", "needs at least one folder")
        if self.lr_folders is not None:
            require(
                len(self.lr_folders) == len(self.hr_folders),
                "lr_folders",
                f"gives {len(self.lr_folders)} folder(s) for {len(self.hr_folders)} HR folder(s); they pair one to one",
            )
        positive(self.lr_patch_size, "lr_patch_size")
        positive(self.batch_size, "batch_size")
        positive(self.repeat, "repeat")
        require(self.num_workers >= 0, "num_workers", f"must be zero or more, got {self.num_workers}")


@dataclass(frozen=True, kw_only=True)
class ValDataConfig:
    """Benchmark sets scored during training, with the protocol that makes the numbers comparable."""

    folders: tuple[str, ...] = field(
        default=(),
        metadata=doc("benchmark folders: HR images (LR made by the train degradation) or EDSR/BasicSR set layouts"),
    )
    protocol: str = field(
        default="classic", metadata=doc("scoring protocol: classic (Y, border = scale) or ntire (RGB, border 4)")
    )
    every: int = field(
        default=5000,
        metadata=doc("validate every this many iterations of a training stage; 0 disables", aliases=("val_freq",)),
    )

    def __post_init__(self) -> None:
        from distillsr.metrics.protocols import PROTOCOLS

        require(
            self.protocol.lower() in PROTOCOLS,
            "protocol",
            f"unknown protocol {self.protocol!r}; choose one of: {', '.join(PROTOCOLS)}",
        )
        require(self.every >= 0, "every", f"must be zero or more, got {self.every}")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Training data and validation sets."""

    train: TrainDataConfig = field(metadata=doc("training images and patch sampling"))
    val: ValDataConfig = field(
        default_factory=ValDataConfig, metadata=doc("validation during training (none by default)")
    )
