"""The typed training recipe: what a run trains, on what data, in which stages.

A recipe is a tree of frozen dataclasses, so a typo cannot slip through as a silently ignored dict
key and nothing downstream can mutate the options it was given. Every field carries a one-line
``help`` (and, where BasicSR users know another spelling, ``aliases``) in its metadata; the YAML
reader (:mod:`distillsr.training.config_io`) and the generated reference
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
import inspect
import typing
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Mapping

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


def option(
    default: Any = MISSING,
    *,
    help: str,
    aliases: tuple[str, ...] = (),
    value_aliases: Mapping[str, str] | None = None,
    default_factory: Any = MISSING,
) -> Any:
    """A dataclass field with the metadata the reader and the docs use.

    ``aliases`` are other accepted key spellings (BasicSR's); ``value_aliases`` map other accepted
    spellings of a choice (``MultiStepLR``) to ours (``multistep``), matched case-insensitively.
    """
    metadata = {
        "help": help,
        "aliases": tuple(aliases),
        "value_aliases": MappingProxyType({k.lower(): v for k, v in (value_aliases or {}).items()}),
    }
    return field(default=default, default_factory=default_factory, metadata=metadata)


def _require(condition: bool, path: str, reason: str) -> None:
    if not condition:
        raise ConfigError(path, reason)


def _positive(value: int | float | None, path: str) -> None:
    _require(value is None or value > 0, path, f"must be positive, got {value}")


def nearest(word: str, candidates: typing.Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``word`` (difflib), or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which zoo network to train; its hyperparameters are the zoo defaults plus ``kwargs``."""

    name: str = option(help="zoo name of the network (`distillsr zoo` lists them), e.g. rfdn, e-rfdn, ddistill-sr")
    scale: int = option(help="upscaling factor; one the zoo entry supports")
    kwargs: dict[str, Any] = option(
        default_factory=dict,
        help="constructor arguments overriding the zoo defaults, checked against the model class's signature",
    )

    def __post_init__(self) -> None:
        _positive(self.scale, "scale")
        entry = self.zoo_entry()
        _require(entry.supports(self.scale), "scale", f"model {entry.name} exists for scales "
                 f"{', '.join(map(str, entry.scales or ()))}, not x{self.scale}")
        if self.kwargs:
            check_model_kwargs(self.name, self.scale, self.kwargs)

    def zoo_entry(self):
        """The zoo entry (imported here, not at module import: the zoo pulls in torch)."""
        from distillsr.models.zoo import get_entry

        try:
            return get_entry(self.name)
        except DistillsrError as error:
            raise ConfigError("name", str(error)) from None


def model_class(name: str, scale: int) -> type:
    """The class a zoo entry builds, found by building it on the meta device (no memory, no init).

    The zoo's factories import their class lazily and take ``**kwargs``, so the class is the only
    place the real hyperparameter names live.
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
    except Exception:  # an annotation that does not evaluate only costs us the type check
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

    hflip: bool = option(True, help="random horizontal flip")
    vflip: bool = option(True, help="random vertical flip")
    rot90: bool = option(True, help="random 90-degree rotation (a transpose); with both flips it reaches all 8 orientations")


@dataclass(frozen=True, kw_only=True)
class SubImagesConfig:
    """Cut large HR images into tiles once, so each patch decodes a small file (BasicSR's extract_subimages)."""

    crop: int = option(480, help="tile side in HR pixels (BasicSR: crop_size 480 for DIV2K)", aliases=("crop_size",))
    step: int = option(240, help="distance between tile origins; below `crop` the tiles overlap")
    thresh: int = option(0, help="add a last tile flush with the edge when more than this many pixels are left", aliases=("thresh_size",))
    folder: str | None = option(None, help="where the tiles go; null: under the cache folder, named after the settings")

    def __post_init__(self) -> None:
        _positive(self.crop, "crop")
        _positive(self.step, "step")
        _require(self.thresh >= 0, "thresh", f"must be zero or more, got {self.thresh}")


@dataclass(frozen=True, kw_only=True)
class TrainDataConfig:
    """Where training pairs come from and how patches are cut; LR is made from HR unless given."""

    hr_folders: tuple[str, ...] = option(help="folders of HR training images (relative paths: from the working directory)", aliases=("dataroot_gt",))
    lr_folders: tuple[str, ...] | None = option(
        None,
        help="matching folders of stored LR images (e.g. DIV2K_train_LR_bicubic/X4); null: made from HR by `degradation`",
        aliases=("dataroot_lq",),
    )
    degradation: Degradation = option("BI", help="how LR is made from HR when no LR folders are given: BI, BD or DN (also used for validation)")
    lr_patch_size: int = option(48, help="side of a training patch in LR pixels (the HR patch is scale times larger)")
    batch_size: int = option(16, help="patches per iteration in total, split evenly over the processes of a distributed run")
    num_workers: int = option(4, help="data-loading worker processes per training process", aliases=("num_worker_per_gpu",))
    augment: AugmentConfig = option(default_factory=AugmentConfig, help="random flips and rotations of each patch")
    repeat: int = option(1, help="times the image list is repeated per epoch, so small sets do not stall on epoch turnover", aliases=("dataset_enlarge_ratio",))
    cache_dir: str | None = option(None, help="cache for LR images made on the fly; null: $DISTILLSR_CACHE_DIR or ~/.cache/distillsr")
    sub_images: SubImagesConfig | None = option(None, help="cut HR images into tiles before training; null trains on the images as they are")

    def __post_init__(self) -> None:
        _require(len(self.hr_folders) > 0, "hr_folders", "needs at least one folder")
        if self.lr_folders is not None:
            _require(len(self.lr_folders) == len(self.hr_folders), "lr_folders",
                     f"gives {len(self.lr_folders)} folder(s) for {len(self.hr_folders)} HR folder(s); they pair one to one")
        _positive(self.lr_patch_size, "lr_patch_size")
        _positive(self.batch_size, "batch_size")
        _positive(self.repeat, "repeat")
        _require(self.num_workers >= 0, "num_workers", f"must be zero or more, got {self.num_workers}")


@dataclass(frozen=True, kw_only=True)
class ValDataConfig:
    """Benchmark sets scored during training, with the protocol that makes the numbers comparable."""

    folders: tuple[str, ...] = option((), help="benchmark folders: HR images (LR made by the train degradation) or EDSR/BasicSR set layouts")
    protocol: str = option("classic", help="scoring protocol: classic (Y, border = scale) or ntire (RGB, border 4)")
    every: int = option(5000, help="validate every this many iterations of a training stage; 0 disables", aliases=("val_freq",))

    def __post_init__(self) -> None:
        from distillsr.metrics.protocols import PROTOCOLS

        _require(self.protocol.lower() in PROTOCOLS, "protocol",
                 f"unknown protocol {self.protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
        _require(self.every >= 0, "every", f"must be zero or more, got {self.every}")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Training data and validation sets."""

    train: TrainDataConfig = option(help="training images and patch sampling")
    val: ValDataConfig = option(default_factory=ValDataConfig, help="validation during training (none by default)")


# --- loss terms ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Base of a loss term. Its ``type`` picks the subclass from :data:`LOSS_TYPES`."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})  # other spellings of a type -> ours

    weight: float = option(1.0, help="factor of this term in the total loss", aliases=("loss_weight",))

    def __post_init__(self) -> None:
        _require(self.weight >= 0, "weight", f"must be zero or more, got {self.weight}")


PIXEL_LOSS_EPS = 1e-3


@dataclass(frozen=True, kw_only=True)
class PixelLossConfig(LossConfig):
    """A distance between SR and HR pixels; the basic term of every SR recipe."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"l1loss": "l1", "mse": "l2", "mseloss": "l2", "charbonnierloss": "charbonnier"}
    )

    type: Literal["l1", "l2", "charbonnier"] = option(help="l1, l2 (mean squared error) or charbonnier")
    eps: float = option(PIXEL_LOSS_EPS, help="charbonnier only: epsilon of sqrt(d^2 + eps^2) on the [0, 1] scale")

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.eps, "eps")
        _require(self.type == "charbonnier" or self.eps == PIXEL_LOSS_EPS, "eps", f"applies only to charbonnier, not {self.type}")


# --- optimizer and schedule --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """The optimizer of a training stage (a fresh one per stage)."""

    type: Literal["adam", "adamw"] = option("adam", help="adam or adamw (decoupled weight decay)")
    lr: float = option(2e-4, help="initial learning rate (after warm-up)")
    betas: tuple[float, float] = option((0.9, 0.999), help="Adam's moment decay rates")
    weight_decay: float = option(0.0, help="L2 penalty (adam) or decoupled decay (adamw)")
    eps: float = option(1e-8, help="Adam's denominator epsilon")

    def __post_init__(self) -> None:
        _positive(self.lr, "lr")
        _require(all(0 <= b < 1 for b in self.betas), "betas", f"must lie in [0, 1), got {list(self.betas)}")
        _require(self.weight_decay >= 0, "weight_decay", f"must be zero or more, got {self.weight_decay}")
        _positive(self.eps, "eps")


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """The learning rate over a stage's iterations, counted from the start of that stage."""

    type: Literal["constant", "multistep", "step", "cosine"] = option(
        "constant",
        help="constant; multistep (x gamma at each milestone); step (x gamma every step_size); cosine (to min_lr)",
        value_aliases={"MultiStepLR": "multistep", "StepLR": "step", "CosineAnnealingLR": "cosine",
                       "CosineAnnealingRestartLR": "cosine", "ConstantLR": "constant"},
    )
    milestones: tuple[int, ...] = option((), help="multistep: iterations (within the stage) where the rate is multiplied by gamma")
    gamma: float = option(0.5, help="multistep/step: the factor applied at each decay")
    step_size: int | None = option(None, help="step: iterations between decays")
    warmup_iterations: int = option(0, help="linear warm-up from lr/warmup to lr over this many iterations", aliases=("warmup_iter",))
    min_lr: float = option(0.0, help="cosine: the rate reached at the end of the stage", aliases=("eta_min",))

    def __post_init__(self) -> None:
        if self.type == "multistep":
            _require(len(self.milestones) > 0, "milestones", "multistep needs at least one milestone")
        else:
            _require(not self.milestones, "milestones", f"apply only to multistep, not {self.type}")
        _require(all(m > 0 for m in self.milestones), "milestones", f"must be positive, got {list(self.milestones)}")
        _require(list(self.milestones) == sorted(set(self.milestones)), "milestones",
                 f"must be strictly increasing, got {list(self.milestones)}")
        if self.type == "step":
            _require(self.step_size is not None, "step_size", "a step schedule needs step_size")
        else:
            _require(self.step_size is None, "step_size", f"applies only to step, not {self.type}")
        _positive(self.step_size, "step_size")
        _positive(self.gamma, "gamma")
        _require(self.warmup_iterations >= 0, "warmup_iterations", f"must be zero or more, got {self.warmup_iterations}")
        _require(self.min_lr >= 0, "min_lr", f"must be zero or more, got {self.min_lr}")
        _require(self.type == "cosine" or self.min_lr == 0, "min_lr", f"applies only to cosine, not {self.type}")


# --- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Base of a stage. Its ``kind`` picks the subclass from :data:`STAGE_KINDS`."""

    kind: ClassVar[str] = ""
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})

    name: str | None = option(None, help="label in logs and checkpoint names; null: stage<index>-<kind>")

    def label(self, index: int) -> str:
        """How logs refer to this stage."""
        return self.name or f"stage{index}-{self.kind}"


def _default_losses() -> tuple[LossConfig, ...]:
    return (PixelLossConfig(type="l1"),)


@dataclass(frozen=True, kw_only=True)
class TrainStageConfig(StageConfig):
    """Supervised training on (LR, HR) patches. Compression stages extend it with their own options."""

    kind: ClassVar[str] = "train"

    iterations: int = option(help="optimizer steps in this stage", aliases=("total_iter",))
    losses: tuple[LossConfig, ...] = option(default_factory=_default_losses, help="weighted loss terms summed each step (default: L1)")
    optimizer: OptimizerConfig = option(default_factory=OptimizerConfig, help="optimizer (fresh for this stage)", aliases=("optim_g",))
    scheduler: SchedulerConfig = option(default_factory=SchedulerConfig, help="learning-rate schedule within this stage")
    grad_clip: float | None = option(None, help="clip the global gradient norm to this; null: no clipping")
    ema_decay: float | None = option(None, help="keep an exponential moving average of the weights (e.g. 0.999); null disables")
    amp: Amp = option("none", help="mixed precision: none, bf16 or fp16 (fp16 uses loss scaling)")
    channels_last: bool = option(False, help="NHWC memory layout (faster convolutions on recent GPUs)")
    lr_patch_size: int | None = option(None, help="this stage's LR patch side; null: data.train.lr_patch_size")
    batch_size: int | None = option(None, help="this stage's total batch; null: data.train.batch_size")

    def __post_init__(self) -> None:
        _positive(self.iterations, "iterations")
        _require(len(self.losses) > 0, "losses", "needs at least one loss term")
        schedule = self.scheduler
        _require(all(m < self.iterations for m in schedule.milestones), "scheduler.milestones",
                 f"must lie inside the stage's {self.iterations} iterations, got {list(schedule.milestones)}")
        _require(schedule.warmup_iterations < self.iterations, "scheduler.warmup_iterations",
                 f"must be shorter than the stage's {self.iterations} iterations")
        _positive(self.grad_clip, "grad_clip")
        _require(self.ema_decay is None or 0 < self.ema_decay < 1, "ema_decay", f"must lie in (0, 1), got {self.ema_decay}")
        _positive(self.lr_patch_size, "lr_patch_size")
        _positive(self.batch_size, "batch_size")


@dataclass(frozen=True, kw_only=True)
class ReparameterizeStageConfig(StageConfig):
    """Fold every train-time block (DBB, RRRB, ...) into its deploy form; later stages train the folded net."""

    kind: ClassVar[str] = "reparameterize"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"reparameterise": "reparameterize", "fold": "reparameterize"})


# --- run-level settings ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LoggingConfig:
    """What a run writes as it goes."""

    print_every: int = option(100, help="log losses and learning rate every this many iterations", aliases=("print_freq",))
    csv: bool = option(True, help="append metrics to log.csv in the experiment folder")
    tensorboard: bool = option(False, help="also write TensorBoard events (needs the tensorboard package)", aliases=("use_tb_logger",))

    def __post_init__(self) -> None:
        _positive(self.print_every, "print_every")


@dataclass(frozen=True, kw_only=True)
class CheckpointConfig:
    """Resumable training states saved during a stage."""

    every: int = option(5000, help="save a training state every this many iterations; 0: only at the end of a stage", aliases=("save_checkpoint_freq",))
    keep: int = option(3, help="keep the last this many training states; 0 keeps all", aliases=("keep_last",))

    def __post_init__(self) -> None:
        _require(self.every >= 0, "every", f"must be zero or more, got {self.every}")
        _require(self.keep >= 0, "keep", f"must be zero or more, got {self.keep}")


@dataclass(frozen=True, kw_only=True)
class DistributedConfig:
    """Multi-process training (started with torchrun)."""

    backend: Literal["auto", "nccl", "gloo"] = option("auto", help="process-group backend; auto: nccl on CUDA, gloo otherwise")


@dataclass(frozen=True, kw_only=True)
class RecipeConfig:
    """A whole training run: one model trained through a list of stages."""

    name: str | None = option(None, help="run name; null: <model>_x<scale>")
    seed: int = option(0, help="seed of weights, patch sampling and augmentation", aliases=("manual_seed",))
    output_dir: str | None = option(None, help="experiment folder (checkpoints, logs, resolved recipe); null: experiments/<name>")
    model: ModelConfig = option(help="the network to train")
    data: DataConfig = option(help="training data and validation sets")
    stages: tuple[StageConfig, ...] = option(help="what the run does, in order: train, reparameterize, ...")
    logging: LoggingConfig = option(default_factory=LoggingConfig, help="console, CSV and TensorBoard logs", aliases=("logger",))
    checkpoint: CheckpointConfig = option(default_factory=CheckpointConfig, help="training states for resuming")
    distributed: DistributedConfig = option(default_factory=DistributedConfig, help="multi-process settings", aliases=("dist_params",))

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
                _require(patch >= entry.min_size, where,
                         f"model {entry.name} needs inputs of at least {entry.min_size} px, got a {patch} px patch")
            if isinstance(stage, ReparameterizeStageConfig):
                _require(entry.form == "train", f"stages.{index}",
                         f"model {entry.name} has no train-time blocks to fold (its zoo form is {entry.form!r})")
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


def field_reference(cls: type = RecipeConfig, prefix: str = "") -> list[FieldDoc]:
    """Every recipe key with its type, default and help, in file order: the source of the docs."""
    rows: list[FieldDoc] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        tp = hints[f.name]
        rows.append(FieldDoc(path, type_name(tp), _default_text(f), f.metadata["help"], f.metadata["aliases"]))
        for inner in _inner_types(tp):
            union = tagged_union(inner)
            if union is not None:
                rows.append(FieldDoc(f"{path}[].{union.key}", "|".join(union.members), union.default or "required",
                                     f"which {union.noun}; picks the options below", ()))
                by_class: dict[type, list[str]] = {}
                for tag, member in union.members.items():
                    by_class.setdefault(member, []).append(tag)
                for member, tags in by_class.items():
                    rows.extend(field_reference(member, f"{path}[{union.key}={'|'.join(tags)}]."))
            elif dataclasses.is_dataclass(inner):
                rows.extend(field_reference(inner, f"{path}."))
    return rows


def _inner_types(tp: Any) -> list[Any]:
    """The dataclass types a field holds directly, through Optional and tuple[...]."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple or origin is typing.Union or type(tp).__name__ == "UnionType":
        return [t for a in args if a is not Ellipsis for t in _inner_types(a)]
    return [tp] if isinstance(tp, type) and dataclasses.is_dataclass(tp) else []
