"""The typed training recipe: what a run trains, on what data, in which stages.

A recipe is a tree of frozen dataclasses, so a typo cannot slip through as a silently ignored dict
key and nothing downstream can mutate the options it was given. Every field carries a one-line
``help`` (and, where BasicSR users know another spelling, ``aliases``) in its metadata
(:func:`_doc`); the YAML reader (:mod:`distillsr.training.config_io`) and the generated reference
(:func:`field_reference`) are driven by that metadata alone, so they cannot drift from the code.

Values are checked where they are defined (``__post_init__``), so a recipe built in Python is held
to the same rules as one read from a file; checks that need another part of the package (the zoo,
the scoring protocols) import it only when a recipe is built, never at import time.

Stages and loss terms are *tagged unions*: the ``kind`` of a stage (``type`` of a loss) picks its
dataclass from an explicit table (:data:`STAGE_KINDS`, :data:`LOSS_TYPES`). A compression technique
adds a stage kind by writing one dataclass and one table row; it never edits the reader.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from distillsr.errors import DistillsrError

Degradation = Literal["BI", "BD", "DN"]
Amp = Literal["none", "bf16", "fp16"]


class ConfigError(DistillsrError):
    """A recipe value that is wrong, with where it is (file, line, dotted path) in its one-line message.

    Checks deep in the tree only know the field they are about; the reader adds the path of the
    enclosing object and the file position as the error travels up (:meth:`within`, :meth:`located`).
    """

    def __init__(self, path: str, reason: str, *, source: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.source = source
        self.line = line
        where = ""
        if source:
            where = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(f"{where}{path}: {reason}" if path else f"{where}{reason}")

    def within(self, prefix: str) -> ConfigError:
        """The same error seen from the object that holds ``prefix``."""
        path = f"{prefix}.{self.path}" if prefix and self.path else (prefix or self.path)
        return ConfigError(path, self.reason, source=self.source, line=self.line)

    def located(self, source: str | None, line: int | None) -> ConfigError:
        """The same error with a file position (an inner, more precise position wins)."""
        return ConfigError(self.path, self.reason, source=self.source or source, line=self.line or line)


def _doc(help: str, aliases: tuple[str, ...] = (), value_aliases: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The field metadata the reader and the generated docs use.

    ``help`` is the one-line description; ``aliases`` are other accepted key spellings (BasicSR's);
    ``value_aliases`` map other spellings of a choice (``MultiStepLR``) to ours (``multistep``),
    matched case-insensitively.
    """
    return MappingProxyType(
        {
            "help": help,
            "aliases": tuple(aliases),
            "value_aliases": MappingProxyType({k.lower(): v for k, v in (value_aliases or {}).items()}),
        }
    )


def _require(condition: bool, path: str, reason: str) -> None:
    if not condition:
        raise ConfigError(path, reason)


def _positive(value: float | None, path: str) -> None:
    _require(value is None or value > 0, path, f"must be positive, got {value}")


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``word`` (difflib), or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which zoo network to train; its hyperparameters are the zoo defaults plus ``kwargs``."""

    name: str = field(
        metadata=_doc("zoo name of the network (`distillsr zoo` lists them), e.g. rfdn, e-rfdn, ddistill-sr")
    )
    scale: int = field(metadata=_doc("upscaling factor; one the zoo entry supports"))
    kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata=_doc("constructor arguments overriding the zoo defaults, checked against the model class's signature"),
    )

    def __post_init__(self) -> None:
        _positive(self.scale, "scale")
        entry = self.zoo_entry()
        _require(
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


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Random geometric transforms of each training patch, each applied with probability 1/2."""

    hflip: bool = field(default=True, metadata=_doc("random horizontal flip"))
    vflip: bool = field(default=True, metadata=_doc("random vertical flip"))
    rot90: bool = field(
        default=True,
        metadata=_doc("random 90-degree rotation (a transpose); with both flips it reaches all 8 orientations"),
    )


@dataclass(frozen=True, kw_only=True)
class SubImagesConfig:
    """Cut large HR images into tiles once, so each patch decodes a small file (BasicSR's extract_subimages)."""

    crop: int = field(
        default=480, metadata=_doc("tile side in HR pixels (BasicSR: crop_size 480 for DIV2K)", aliases=("crop_size",))
    )
    step: int = field(default=240, metadata=_doc("distance between tile origins; below `crop` the tiles overlap"))
    thresh: int = field(
        default=0,
        metadata=_doc(
            "add a last tile flush with the edge when more than this many pixels are left", aliases=("thresh_size",)
        ),
    )
    folder: str | None = field(
        default=None, metadata=_doc("where the tiles go; null: under the cache folder, named after the settings")
    )

    def __post_init__(self) -> None:
        _positive(self.crop, "crop")
        _positive(self.step, "step")
        _require(self.thresh >= 0, "thresh", f"must be zero or more, got {self.thresh}")


@dataclass(frozen=True, kw_only=True)
class TrainDataConfig:
    """Where training pairs come from and how patches are cut; LR is made from HR unless given."""

    hr_folders: tuple[str, ...] = field(
        metadata=_doc(
            "folders of HR training images (relative paths: from the working directory)", aliases=("dataroot_gt",)
        )
    )
    lr_folders: tuple[str, ...] | None = field(
        default=None,
        metadata=_doc(
            "matching folders of stored LR images (e.g. DIV2K_train_LR_bicubic/X4); null: made from HR by `degradation`",
            aliases=("dataroot_lq",),
        ),
    )
    degradation: Degradation = field(
        default="BI",
        metadata=_doc("how LR is made from HR when no LR folders are given: BI, BD or DN (also used for validation)"),
    )
    lr_patch_size: int = field(
        default=48, metadata=_doc("side of a training patch in LR pixels (the HR patch is scale times larger)")
    )
    batch_size: int = field(
        default=16,
        metadata=_doc("patches per iteration in total, split evenly over the processes of a distributed run"),
    )
    num_workers: int = field(
        default=4, metadata=_doc("data-loading worker processes per training process", aliases=("num_worker_per_gpu",))
    )
    augment: AugmentConfig = field(
        default_factory=AugmentConfig, metadata=_doc("random flips and rotations of each patch")
    )
    repeat: int = field(
        default=1,
        metadata=_doc(
            "times the image list is repeated per epoch, so small sets do not stall on epoch turnover",
            aliases=("dataset_enlarge_ratio",),
        ),
    )
    cache_dir: str | None = field(
        default=None,
        metadata=_doc("cache for LR images made on the fly; null: $DISTILLSR_CACHE_DIR or ~/.cache/distillsr"),
    )
    sub_images: SubImagesConfig | None = field(
        default=None, metadata=_doc("cut HR images into tiles before training; null trains on the images as they are")
    )

    def __post_init__(self) -> None:
        _require(len(self.hr_folders) > 0, "hr_folders", "needs at least one folder")
        if self.lr_folders is not None:
            _require(
                len(self.lr_folders) == len(self.hr_folders),
                "lr_folders",
                f"gives {len(self.lr_folders)} folder(s) for {len(self.hr_folders)} HR folder(s); they pair one to one",
            )
        _positive(self.lr_patch_size, "lr_patch_size")
        _positive(self.batch_size, "batch_size")
        _positive(self.repeat, "repeat")
        _require(self.num_workers >= 0, "num_workers", f"must be zero or more, got {self.num_workers}")


@dataclass(frozen=True, kw_only=True)
class ValDataConfig:
    """Benchmark sets scored during training, with the protocol that makes the numbers comparable."""

    folders: tuple[str, ...] = field(
        default=(),
        metadata=_doc("benchmark folders: HR images (LR made by the train degradation) or EDSR/BasicSR set layouts"),
    )
    protocol: str = field(
        default="classic", metadata=_doc("scoring protocol: classic (Y, border = scale) or ntire (RGB, border 4)")
    )
    every: int = field(
        default=5000,
        metadata=_doc("validate every this many iterations of a training stage; 0 disables", aliases=("val_freq",)),
    )

    def __post_init__(self) -> None:
        from distillsr.metrics.protocols import PROTOCOLS

        _require(
            self.protocol.lower() in PROTOCOLS,
            "protocol",
            f"unknown protocol {self.protocol!r}; choose one of: {', '.join(PROTOCOLS)}",
        )
        _require(self.every >= 0, "every", f"must be zero or more, got {self.every}")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Training data and validation sets."""

    train: TrainDataConfig = field(metadata=_doc("training images and patch sampling"))
    val: ValDataConfig = field(
        default_factory=ValDataConfig, metadata=_doc("validation during training (none by default)")
    )


# --- loss terms ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Base of a loss term. Its ``type`` picks the subclass from :data:`LOSS_TYPES`."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})  # other spellings of a type -> ours

    weight: float = field(default=1.0, metadata=_doc("factor of this term in the total loss", aliases=("loss_weight",)))

    def __post_init__(self) -> None:
        _require(self.weight >= 0, "weight", f"must be zero or more, got {self.weight}")


PIXEL_LOSS_EPS = 1e-3


@dataclass(frozen=True, kw_only=True)
class PixelLossConfig(LossConfig):
    """A distance between SR and HR pixels; the basic term of every SR recipe."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"l1loss": "l1", "mse": "l2", "mseloss": "l2", "charbonnierloss": "charbonnier"}
    )

    type: Literal["l1", "l2", "charbonnier"] = field(metadata=_doc("l1, l2 (mean squared error) or charbonnier"))
    eps: float = field(
        default=PIXEL_LOSS_EPS, metadata=_doc("charbonnier only: epsilon of sqrt(d^2 + eps^2) on the [0, 1] scale")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.eps, "eps")
        _require(
            self.type == "charbonnier" or self.eps == PIXEL_LOSS_EPS,
            "eps",
            f"applies only to charbonnier, not {self.type}",
        )


# --- optimizer and schedule --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The optimizer of a training stage (a fresh one per stage)."""

    type: Literal["adam", "adamw"] = field(default="adam", metadata=_doc("adam or adamw (decoupled weight decay)"))
    lr: float = field(default=2e-4, metadata=_doc("initial learning rate (after warm-up)"))
    betas: tuple[float, float] = field(default=(0.9, 0.999), metadata=_doc("Adam's moment decay rates"))
    weight_decay: float = field(default=0.0, metadata=_doc("L2 penalty (adam) or decoupled decay (adamw)"))
    eps: float = field(default=1e-8, metadata=_doc("Adam's denominator epsilon"))

    def __post_init__(self) -> None:
        _positive(self.lr, "lr")
        _require(all(0 <= b < 1 for b in self.betas), "betas", f"must lie in [0, 1), got {list(self.betas)}")
        _require(self.weight_decay >= 0, "weight_decay", f"must be zero or more, got {self.weight_decay}")
        _positive(self.eps, "eps")


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """The learning rate over a stage's iterations, counted from the start of that stage."""

    type: Literal["constant", "multistep", "step", "cosine"] = field(
        default="constant",
        metadata=_doc(
            "constant; multistep (x gamma at each milestone); step (x gamma every step_size); cosine (to min_lr)",
            value_aliases={
                "MultiStepLR": "multistep",
                "StepLR": "step",
                "CosineAnnealingLR": "cosine",
                "CosineAnnealingRestartLR": "cosine",
                "ConstantLR": "constant",
            },
        ),
    )
    milestones: tuple[int, ...] = field(
        default=(), metadata=_doc("multistep: iterations (within the stage) where the rate is multiplied by gamma")
    )
    gamma: float = field(default=0.5, metadata=_doc("multistep/step: the factor applied at each decay"))
    step_size: int | None = field(default=None, metadata=_doc("step: iterations between decays"))
    warmup_iterations: int = field(
        default=0,
        metadata=_doc("linear warm-up from lr/warmup to lr over this many iterations", aliases=("warmup_iter",)),
    )
    min_lr: float = field(
        default=0.0, metadata=_doc("cosine: the rate reached at the end of the stage", aliases=("eta_min",))
    )

    def __post_init__(self) -> None:
        if self.type == "multistep":
            _require(len(self.milestones) > 0, "milestones", "multistep needs at least one milestone")
        else:
            _require(not self.milestones, "milestones", f"apply only to multistep, not {self.type}")
        _require(all(m > 0 for m in self.milestones), "milestones", f"must be positive, got {list(self.milestones)}")
        _require(
            list(self.milestones) == sorted(set(self.milestones)),
            "milestones",
            f"must be strictly increasing, got {list(self.milestones)}",
        )
        if self.type == "step":
            _require(self.step_size is not None, "step_size", "a step schedule needs step_size")
        else:
            _require(self.step_size is None, "step_size", f"applies only to step, not {self.type}")
        _positive(self.step_size, "step_size")
        _positive(self.gamma, "gamma")
        _require(
            self.warmup_iterations >= 0, "warmup_iterations", f"must be zero or more, got {self.warmup_iterations}"
        )
        _require(self.min_lr >= 0, "min_lr", f"must be zero or more, got {self.min_lr}")
        _require(self.type == "cosine" or self.min_lr == 0, "min_lr", f"applies only to cosine, not {self.type}")


# --- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Base of a stage. Its ``kind`` picks the subclass from :data:`STAGE_KINDS`."""

    kind: ClassVar[str] = ""
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})

    name: str | None = field(
        default=None, metadata=_doc("label in logs and checkpoint names; null: stage<index>-<kind>")
    )

    def label(self, index: int) -> str:
        """How logs refer to this stage."""
        return self.name or f"stage{index}-{self.kind}"


def _default_losses() -> tuple[LossConfig, ...]:
    return (PixelLossConfig(type="l1"),)


@dataclass(frozen=True, kw_only=True)
class TrainStageConfig(StageConfig):
    """Supervised training on (LR, HR) patches. Compression stages extend it with their own options."""

    kind: ClassVar[str] = "train"

    iterations: int = field(metadata=_doc("optimizer steps in this stage", aliases=("total_iter",)))
    losses: tuple[LossConfig, ...] = field(
        default_factory=_default_losses, metadata=_doc("weighted loss terms summed each step (default: L1)")
    )
    optimizer: OptimizerConfig = field(
        default_factory=OptimizerConfig, metadata=_doc("optimizer (fresh for this stage)", aliases=("optim_g",))
    )
    scheduler: SchedulerConfig = field(
        default_factory=SchedulerConfig, metadata=_doc("learning-rate schedule within this stage")
    )
    grad_clip: float | None = field(
        default=None, metadata=_doc("clip the global gradient norm to this; null: no clipping")
    )
    ema_decay: float | None = field(
        default=None, metadata=_doc("keep an exponential moving average of the weights (e.g. 0.999); null disables")
    )
    amp: Amp = field(default="none", metadata=_doc("mixed precision: none, bf16 or fp16 (fp16 uses loss scaling)"))
    channels_last: bool = field(default=False, metadata=_doc("NHWC memory layout (faster convolutions on recent GPUs)"))
    lr_patch_size: int | None = field(
        default=None, metadata=_doc("this stage's LR patch side; null: data.train.lr_patch_size")
    )
    batch_size: int | None = field(default=None, metadata=_doc("this stage's total batch; null: data.train.batch_size"))

    def __post_init__(self) -> None:
        _positive(self.iterations, "iterations")
        _require(len(self.losses) > 0, "losses", "needs at least one loss term")
        schedule = self.scheduler
        _require(
            all(m < self.iterations for m in schedule.milestones),
            "scheduler.milestones",
            f"must lie inside the stage's {self.iterations} iterations, got {list(schedule.milestones)}",
        )
        _require(
            schedule.warmup_iterations < self.iterations,
            "scheduler.warmup_iterations",
            f"must be shorter than the stage's {self.iterations} iterations",
        )
        _positive(self.grad_clip, "grad_clip")
        _require(
            self.ema_decay is None or 0 < self.ema_decay < 1, "ema_decay", f"must lie in (0, 1), got {self.ema_decay}"
        )
        _positive(self.lr_patch_size, "lr_patch_size")
        _positive(self.batch_size, "batch_size")


@dataclass(frozen=True, kw_only=True)
class ReparameterizeStageConfig(StageConfig):
    """Fold every train-time block (DBB, RRRB, ...) into its deploy form; later stages train the folded net."""

    kind: ClassVar[str] = "reparameterize"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"reparameterise": "reparameterize", "fold": "reparameterize"}
    )


# --- run-level settings ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LoggingConfig:
    """What a run writes as it goes."""

    print_every: int = field(
        default=100, metadata=_doc("log losses and learning rate every this many iterations", aliases=("print_freq",))
    )
    csv: bool = field(default=True, metadata=_doc("append metrics to log.csv in the experiment folder"))
    tensorboard: bool = field(
        default=False,
        metadata=_doc("also write TensorBoard events (needs the tensorboard package)", aliases=("use_tb_logger",)),
    )

    def __post_init__(self) -> None:
        _positive(self.print_every, "print_every")


@dataclass(frozen=True, kw_only=True)
class CheckpointConfig:
    """Resumable training states saved during a stage."""

    every: int = field(
        default=5000,
        metadata=_doc(
            "save a training state every this many iterations; 0: only at the end of a stage",
            aliases=("save_checkpoint_freq",),
        ),
    )
    keep: int = field(
        default=3, metadata=_doc("keep the last this many training states; 0 keeps all", aliases=("keep_last",))
    )

    def __post_init__(self) -> None:
        _require(self.every >= 0, "every", f"must be zero or more, got {self.every}")
        _require(self.keep >= 0, "keep", f"must be zero or more, got {self.keep}")


@dataclass(frozen=True, kw_only=True)
class DistributedConfig:
    """Multi-process training (started with torchrun)."""

    backend: Literal["auto", "nccl", "gloo"] = field(
        default="auto", metadata=_doc("process-group backend; auto: nccl on CUDA, gloo otherwise")
    )


@dataclass(frozen=True, kw_only=True)
class RecipeConfig:
    """A whole training run: one model trained through a list of stages."""

    name: str | None = field(default=None, metadata=_doc("run name; null: <model>_x<scale>"))
    seed: int = field(
        default=0, metadata=_doc("seed of weights, patch sampling and augmentation", aliases=("manual_seed",))
    )
    output_dir: str | None = field(
        default=None, metadata=_doc("experiment folder (checkpoints, logs, resolved recipe); null: experiments/<name>")
    )
    model: ModelConfig = field(metadata=_doc("the network to train"))
    data: DataConfig = field(metadata=_doc("training data and validation sets"))
    stages: tuple[StageConfig, ...] = field(metadata=_doc("what the run does, in order: train, reparameterize, ..."))
    logging: LoggingConfig = field(
        default_factory=LoggingConfig, metadata=_doc("console, CSV and TensorBoard logs", aliases=("logger",))
    )
    checkpoint: CheckpointConfig = field(
        default_factory=CheckpointConfig, metadata=_doc("training states for resuming")
    )
    distributed: DistributedConfig = field(
        default_factory=DistributedConfig, metadata=_doc("multi-process settings", aliases=("dist_params",))
    )

    def __post_init__(self) -> None:
        # The run name and folder are resolved once, so the printed recipe says where outputs go.
        if self.name is None:
            object.__setattr__(self, "name", f"{self.model.name}_x{self.model.scale}")
        _require(bool(self.name), "name", "must not be empty")
        if self.output_dir is None:
            object.__setattr__(self, "output_dir", str(Path("experiments") / str(self.name)))
        _require(len(self.stages) > 0, "stages", "needs at least one stage")
        self._check_stages()

    def _check_stages(self) -> None:
        """Rules that join stages to the model and data: patch sizes, what can be folded."""
        entry = self.model.zoo_entry()
        folded_at: int | None = None
        for index, stage in enumerate(self.stages):
            if isinstance(stage, TrainStageConfig):
                patch = stage.lr_patch_size or self.data.train.lr_patch_size
                where = f"stages.{index}.lr_patch_size" if stage.lr_patch_size else "data.train.lr_patch_size"
                _require(
                    patch >= entry.min_size,
                    where,
                    f"model {entry.name} needs inputs of at least {entry.min_size} px, got a {patch} px patch",
                )
            if isinstance(stage, ReparameterizeStageConfig):
                _require(
                    entry.form == "train",
                    f"stages.{index}",
                    f"model {entry.name} has no train-time blocks to fold (its zoo form is {entry.form!r})",
                )
                _require(folded_at is None, f"stages.{index}", f"the model was already folded by stage {folded_at}")
                folded_at = index

    @property
    def experiment_dir(self) -> Path:
        """The experiment folder as a path."""
        return Path(str(self.output_dir))

    @property
    def total_iterations(self) -> int:
        """Optimizer steps over all stages (for progress bars and time estimates)."""
        return sum(getattr(stage, "iterations", 0) for stage in self.stages)


# --- the tagged unions: explicit tables, one row per kind ------------------------------------------

STAGE_KINDS: Mapping[str, type[StageConfig]] = MappingProxyType(
    {cls.kind: cls for cls in (TrainStageConfig, ReparameterizeStageConfig)}
)
"""Stage kind -> its options. A new stage kind is a :class:`StageConfig` subclass and a row here."""

LOSS_TYPES: Mapping[str, type[LossConfig]] = MappingProxyType(
    {"l1": PixelLossConfig, "l2": PixelLossConfig, "charbonnier": PixelLossConfig}
)
"""Loss type -> its options. A new loss term is a :class:`LossConfig` subclass and a row here."""


@dataclass(frozen=True)
class TaggedUnion:
    """A field whose value's class is chosen by one of its keys (``kind``/``type``) from a table."""

    base: type
    key: str
    members: Mapping[str, type]
    default: str | None
    noun: str

    def lookup(self, tag: str) -> str | None:
        """The canonical tag for ``tag`` (any case, or a known alias), or None."""
        lowered = tag.lower()
        for canonical, cls in self.members.items():
            if lowered == canonical.lower():
                return canonical
            alias = cls.tag_aliases.get(lowered)
            if alias in self.members:
                return alias
        return None

    def tag_of(self, value: Any) -> str:
        return str(getattr(value, self.key))


TAGGED_UNIONS: tuple[TaggedUnion, ...] = (
    TaggedUnion(StageConfig, "kind", STAGE_KINDS, "train", "stage kind"),
    TaggedUnion(LossConfig, "type", LOSS_TYPES, None, "loss type"),
)


def tagged_union(cls: Any) -> TaggedUnion | None:
    """The tagged union whose base is ``cls``, if it is one."""
    for union in TAGGED_UNIONS:
        if cls is union.base:
            return union
    return None


# --- documentation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDoc:
    """One row of the recipe reference."""

    path: str
    type: str
    default: str
    help: str
    aliases: tuple[str, ...]


def type_name(tp: Any) -> str:
    """A short, YAML-minded name of a field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " | ".join(type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list[{type_name(args[0])}]"
        return f"[{', '.join(type_name(a) for a in args)}]"
    if origin is dict:
        return "mapping"
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(defaults)"
    else:
        return "required"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(_default_text_value(v) for v in value) + "]"
    return _default_text_value(value)


def _default_text_value(value: Any) -> str:
    if dataclasses.is_dataclass(value):
        tag = next((u.tag_of(value) for u in TAGGED_UNIONS if isinstance(value, u.base)), type(value).__name__)
        return f"{{type: {tag}}}" if isinstance(value, LossConfig) else tag
    return str(value)


def field_reference(cls: type = RecipeConfig, prefix: str = "", skip: str = "") -> list[FieldDoc]:
    """Every recipe key with its type, default and help, in file order: the source of the docs."""
    rows: list[FieldDoc] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == skip:  # a union's tag field, already described by its `[].kind`/`[].type` row
            continue
        path = f"{prefix}{f.name}"
        tp = hints[f.name]
        rows.append(FieldDoc(path, type_name(tp), _default_text(f), f.metadata["help"], f.metadata["aliases"]))
        for inner in _inner_types(tp):
            union = tagged_union(inner)
            if union is not None:
                rows.append(
                    FieldDoc(
                        f"{path}[].{union.key}",
                        "|".join(union.members),
                        union.default or "required",
                        f"which {union.noun}; picks the options below",
                        (),
                    )
                )
                by_class: dict[type, list[str]] = {}
                for tag, member in union.members.items():
                    by_class.setdefault(member, []).append(tag)
                for member, tags in by_class.items():
                    rows.extend(field_reference(member, f"{path}[{union.key}={'|'.join(tags)}].", skip=union.key))
            elif dataclasses.is_dataclass(inner):
                rows.extend(field_reference(inner, f"{path}."))
    return rows


def _inner_types(tp: Any) -> list[Any]:
    """The dataclass types a field holds directly, through Optional and tuple[...]."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple or origin is typing.Union or type(tp).__name__ == "UnionType":
        return [t for a in args if a is not Ellipsis for t in _inner_types(a)]
    return [tp] if isinstance(tp, type) and dataclasses.is_dataclass(tp) else []
