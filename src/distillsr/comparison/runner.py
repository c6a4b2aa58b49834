"""Measuring a benchmark: every model on every dataset, with the same settings, once.

All numbers come from the modules that ``distillsr eval`` and ``distillsr profile`` use —
:func:`~distillsr.evaluation.runner.evaluate_set` for PSNR/SSIM and
:func:`~distillsr.efficiency.report.profile_model` (params, MACs, NTIRE-kit FLOPs, activations,
#conv) plus :func:`~distillsr.efficiency.runtime.measure_runtime` and
:func:`~distillsr.efficiency.memory.measure_peak_memory` — so a bench row and the two commands
never disagree. What is added here is the NTIRE kit's per-image runtime (mean over the first
dataset's LR images) and the bookkeeping: every model is loaded and every dataset found before
the first (slow) measurement, so a typo fails in a second rather than after an hour.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distillsr.console import get_logger
from distillsr.data.eval_sets import EvalSet, Sample, describe_names
from distillsr.efficiency.report import EfficiencyReport
from distillsr.errors import DistillsrError
from distillsr.evaluation.runner import SetResult
from distillsr.models.sr_model import SRModel

log = get_logger(__name__)

#: LR size of the fixed-input runtime: 320x180 upscaled x4 is a 1280x720 frame, the size users
#: most often upscale to; the NTIRE kit's 256x256 is what ``--ntire`` uses instead.
DEFAULT_INPUT = (1, 3, 180, 320)
BENCH_WEIGHTS_OPTION = "-m FILE"
"""How ``bench`` takes a weights file (in a zoo name's place: it has no ``-w``), as its errors advise it."""


@dataclass(frozen=True)
class BenchSettings:
    """What one benchmark run measures; every field is written into the results."""

    models: tuple[str, ...]
    data: tuple[Path, ...]
    scale: int
    protocol: str = "classic"
    device: str = "auto"
    precision: str = "fp32"
    input_shape: tuple[int, ...] = DEFAULT_INPUT
    repeats: int = 10
    warmup: int = 2
    crops: tuple[str, ...] = ()
    ntire: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["data"] = [str(path) for path in self.data]
        data["input"] = "x".join(str(s) for s in self.input_shape[1:])
        return data


@dataclass(frozen=True)
class DatasetRuntime:
    """The NTIRE kit's runtime: one forward per LR image of a dataset, timed alone, then the mean.

    ``max_memory_mib`` is the kit's "Max Mem": ``torch.cuda.max_memory_allocated`` over those
    forwards (weights, inputs and outputs included), in MiB; None on the CPU.
    """

    dataset: str
    images: int
    mean_ms: float
    per_image_ms: tuple[float, ...]
    warmup: int
    method: str
    max_memory_mib: float | None = None


@dataclass
class ModelResult:
    """One model's row: what it is, its costs at the input size, its runtime per image, its scores."""

    label: str
    spec: str
    model: str
    weights: str | None
    scale: int
    precision: str
    device: str
    costs: EfficiencyReport
    dataset_runtime: DatasetRuntime
    scores: list[SetResult]

    def score_on(self, dataset: str, image: str) -> float | None:
        """The PSNR this model scored on one image (None when that image was not scored)."""
        for result in self.scores:
            if result.dataset == dataset:
                for scored in result.images:
                    if scored.name == image:
                        return scored.score.psnr
        return None


@dataclass(frozen=True)
class CropPanel:
    """One panel of a side-by-side crop: a whole SR (or HR) image, its label and its PSNR."""

    label: str
    image: np.ndarray
    psnr: float | None


@dataclass
class CropSet:
    """The HR image and each model's output for one benchmark image named by ``--crops``."""

    name: str
    dataset: str
    hr: np.ndarray
    panels: list[CropPanel] = field(default_factory=list)


@dataclass
class BenchResult:
    settings: BenchSettings
    environment: dict[str, Any]
    protocol: str
    protocol_description: str
    rows: list[ModelResult]
    crops: list[CropSet]

    @property
    def datasets(self) -> list[str]:
        return [result.dataset for result in self.rows[0].scores] if self.rows else []


# --------------------------------------------------------------------------------------------------
# Timing the kit's way
# --------------------------------------------------------------------------------------------------


def time_dataset(model: SRModel, dataset: str, lrs: list[np.ndarray], device: torch.device, warmup: int) -> DatasetRuntime:
    """Mean time of one forward per image, as the NTIRE kit measures it.

    On CUDA with CUDA events around each forward and ``torch.cuda.synchronize`` after it (kernels
    run asynchronously: a host clock would time their launch); on the CPU with
    ``time.perf_counter``. ``warmup`` untimed forwards of the first image come first (thread pools,
    kernel selection, cuDNN autotuning).
    """
    from distillsr.efficiency.runtime import time_runs
    from distillsr.imaging.tensors import image_to_tensor

    if not lrs:
        raise DistillsrError(f"{dataset} has no images to time")
    inputs = [image_to_tensor(lr, model.in_channels).to(device) for lr in lrs]
    cuda = device.type == "cuda"
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(inputs[0])
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        for x in inputs:
            run = lambda x=x: model(x)
            times.extend(time_runs(run, 1, device))
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    method = "CUDA events + synchronize" if cuda else "time.perf_counter wall clock"
    return DatasetRuntime(
        dataset=dataset,
        images=len(times),
        mean_ms=float(np.mean(times)),
        per_image_ms=tuple(times),
        warmup=warmup,
        method=method,
        max_memory_mib=peak,
    )


# --------------------------------------------------------------------------------------------------
# One model
# --------------------------------------------------------------------------------------------------


def measure_costs(model: SRModel, timed: SRModel, settings: BenchSettings, device: torch.device) -> EfficiencyReport:
    """Counts of the fp32 network (exact, precision-free) and runtime/memory of the network as timed.

    The counts are :func:`profile_model`'s own; runtime and memory are measured on ``timed``
    (the fast-path copy at bf16/fp16), with the same functions ``profile_model`` calls.
    """
    from distillsr.efficiency.memory import measure_peak_memory
    from distillsr.efficiency.report import profile_model
    from distillsr.efficiency.runtime import measure_runtime

    shape = settings.input_shape
    counts = profile_model(model.network, shape, device=device, runtime=False, memory=False)
    runtime = measure_runtime(timed.network, shape, device=device, warmup=settings.warmup, repeats=settings.repeats)
    memory = measure_peak_memory(timed.network, shape, device=device)
    return dataclasses.replace(counts, runtime=runtime, memory=memory)


def _shown_path(path: str | None) -> str | None:
    """A weights path relative to the working folder when it lies inside it, so results files carry no home folders."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _precision_of(model: SRModel, precision: str, device: torch.device) -> str:
    """The precision a row runs at: the one asked for, or fp32 for a float32-only baseline (bicubic).

    A baseline in a bf16 table is still worth its row; the row names fp32, so nothing is hidden.
    """
    from distillsr.inference.fast_path import precision_for

    try:
        return precision_for(model, precision, device)
    except DistillsrError:
        return "fp32"


def _labels(models: list[tuple[str, SRModel]]) -> list[str]:
    """Zoo names, with the file name added where two rows share an architecture."""
    names = [model.name for _, model in models]
    labels = []
    for (spec, model), name in zip(models, names):
        if names.count(name) > 1 and model.metadata.get("weights"):
            name = f"{name} ({Path(model.metadata['weights']).stem})"
        labels.append(name)
    if len(set(labels)) != len(labels):
        raise DistillsrError(f"--models names the same model twice: {', '.join(labels)}")
    return labels


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


def _find_crops(names: tuple[str, ...], benchmarks: list[EvalSet]) -> list[tuple[EvalSet, Sample]]:
    found = []
    for name in names:
        where = next((b for b in benchmarks if any(pair.name == name for pair in b.pairs)), None)
        if where is None:
            available = [pair.name for b in benchmarks for pair in b.pairs]
            raise DistillsrError(f"--crops: no image {name!r} in the datasets; they hold {describe_names(available, 8)}")
        index = next(i for i, pair in enumerate(where.pairs) if pair.name == name)
        found.append((where, where[index]))
    return found


def _display(image: np.ndarray) -> np.ndarray:
    """An image as HxWx3 for a figure (grey replicated, alpha dropped)."""
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[..., :3]


def run_bench(settings: BenchSettings) -> BenchResult:
    """Measure every model of ``settings`` (see :class:`BenchSettings`) and return the results."""
    from distillsr.comparison.environment import collect_environment
    from distillsr.comparison.precision import at_precision
    from distillsr.checkpoints.model_loading import open_model
    from distillsr.devices import resolve_device
    from distillsr.evaluation.runner import evaluate_set
    from distillsr.imaging.degrade import get_degradation
    from distillsr.imaging.pixels import from_float
    from distillsr.inference.fast_path import resolve_precision
    from distillsr.inference.predict import predict
    from distillsr.metrics.protocols import get_protocol, score
    from distillsr.models.zoo import build_model

    if not settings.models:
        raise DistillsrError("--models needs at least one model")
    if not settings.data:
        raise DistillsrError("--data needs at least one folder")
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    protocol = get_protocol(settings.protocol)
    # everything a typo can break, before the first slow measurement
    models = [(spec, open_model(spec, scale=settings.scale, weights_option=BENCH_WEIGHTS_OPTION)) for spec in settings.models]
    labels = _labels(models)
    for label, (_, model) in zip(labels, models):
        if min(settings.input_shape[2:]) < model.min_size:  # the network itself does not pad, as SRModel does
            raise DistillsrError(f"{label} runs on inputs of at least {model.min_size} px a side; choose a larger --input")
    degradation = get_degradation("BI", settings.scale)
    # no LR cache: a benchmark writes nothing outside its --out folder (MATLAB bicubic takes a second)
    benchmarks = [EvalSet(folder, settings.scale, degradation) for folder in settings.data]
    crop_samples = _find_crops(settings.crops, benchmarks)
    first = benchmarks[0]
    first_lrs = [sample.lr for sample in first]
    environment = collect_environment(device, precision)
    crops = [CropSet(sample.name, bench.name, _display(sample.hr)) for bench, sample in crop_samples]
    rows: list[ModelResult] = []
    for (spec, model), label in zip(models, labels):
        model = model.to(device).eval()
        row_precision = _precision_of(model, precision, device)
        log.info(f"{label}: costs at {'x'.join(map(str, settings.input_shape[1:]))}, {row_precision}, {device}")
        timed = at_precision(model, row_precision, device)
        costs = measure_costs(model, timed, settings, device)
        scores = []
        for bench in benchmarks:
            log.info(f"{label}: {bench.name} ({len(bench)} images, {protocol.name} protocol)")
            scores.append(evaluate_set(model, bench, protocol, progress=False, precision=row_precision))
        dataset_runtime = time_dataset(timed, first.name, first_lrs, device, settings.warmup)
        row = ModelResult(
            label=label, spec=spec, model=model.name, weights=_shown_path(model.metadata.get("weights")), scale=model.scale,
            precision=row_precision, device=str(device), costs=costs, dataset_runtime=dataset_runtime, scores=scores,
        )
        rows.append(row)
        for crop, (bench, sample) in zip(crops, crop_samples):
            sr = from_float(predict(model, sample.lr, precision=row_precision), sample.hr.dtype)
            crop.panels.append(CropPanel(label, _display(sr), row.score_on(bench.name, sample.name)))
    if crops and "bicubic" not in [row.model for row in rows]:  # the baseline panel, even when not a row
        bicubic = build_model("bicubic", settings.scale)
        for crop, (_, sample) in zip(crops, crop_samples):
            sr = from_float(predict(bicubic, sample.lr), sample.hr.dtype)
            crop.panels.insert(0, CropPanel("bicubic", _display(sr), score(sr, sample.hr, protocol, settings.scale).psnr))
    for crop in crops:  # bicubic first after HR, then the models in the order given
        crop.panels.sort(key=lambda panel: panel.label != "bicubic")
    return BenchResult(settings, environment, protocol.name, protocol.description, rows, crops)
