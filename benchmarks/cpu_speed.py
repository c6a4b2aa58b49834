"""CPU speed of distillsr against the official models run as their authors run them, in one report.

Run: ``python benchmarks/cpu_speed.py [--threads 1] [--repeats 5] [--repeats-large 2]
[--sizes 180x320,256x256,720x1280] [--models e-rfdn,dipnet,ddistill-sr,imdn] [--compile]
[--e2e-models e-rfdn] [--output report.md]``; ``--quick`` runs one model at one small size once
(well under a minute) to check the script works.

For each model (x4, official weights from ``../shared/weights/official``) and LR size (HxW) it
times, interleaved round-robin so machine noise hits all alike (medians of ``--repeats``; sizes
above 0.5 MP use ``--repeats-large`` and no warm-up call, since each forward takes seconds):

* **(a) official**: an eager mirror of the official network (:mod:`official_mirrors`), NCHW
  float32 under ``torch.no_grad``, its official input range; checked against distillsr's model
  (max |diff| printed) before anything is timed;
* **default**: ``Upscaler(model, device="cpu")`` with its defaults (precision, layout and tiling
  chosen by the engine; the report says what they resolved to);
* **exact fp32** and **bf16**: ``Upscaler(..., precision=...)``;
* **ort fp32**: the ``distillsr export`` graph in onnxruntime (``OnnxModel``, untiled);
* **compile** (``--compile``): ``torch.compile`` (inductor) of the channels-last fp32 network,
  untiled; its first call (compilation) is reported separately.

Reported per section: seconds and ratio to (a); µs per LR pixel and the large/small per-pixel
ratio; achieved GFLOP/s (2 x MACs from :func:`distillsr.efficiency.count_ops` / time) against the
peak of a 64->64 3x3 convolution on a 256x256 map measured here; ΔPSNR on Set5 x4 (classic
protocol: Y, border 4, official LR files) against (a) and the largest 8-bit difference from (a)'s
output; end to end, ``distillsr upscale`` (default and ``--fp32``) against an official-style
script (PIL read, forward, clamp, round, PNG write) on a 320x180 and a 1280x720 PNG, as whole
processes and in-process per image. One summary line per goal says met / not met.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SHARED = BENCH_DIR.parents[1] / "shared"
WEIGHTS = SHARED / "weights" / "official"
DATA = SHARED / "data"
PHOTO = DATA / "BSD200" / "HR" / "100075.png"  # a 481x321 landscape photo: the source of every timed input
LARGE_PIXELS = 500_000
E2E_SIZES = ((180, 320), (720, 1280))  # HxW of the end-to-end PNGs (320x180 and 1280x720)
GOAL_PER_PIXEL = 1.15
GOAL_E2E = {"default": 2.5, "fp32": 1.5}


@dataclass
class Variant:
    """One way to upscale: ``run(prepare(x))`` is timed; ``to_unit`` brings its output to [0, 1]."""

    key: str
    label: str
    run: Callable
    prepare: Callable = lambda x: x
    to_unit: Callable = lambda y: y
    precision: str = "fp32"  # which conv peak its GFLOP/s is compared with
    note: str = ""


class Report:
    """Lines printed as they come and kept for ``--output``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def parse_size(text: str) -> tuple[int, int]:
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def photo(height: int, width: int):
    """The benchmark photo, centre-cropped to the aspect ratio and MATLAB-bicubic resized to HxW (uint8)."""
    from distillsr.imaging.read import read_image
    from distillsr.imaging.resize import imresize

    image = read_image(PHOTO)[..., :3]
    h, w = image.shape[:2]
    if w * height > h * width:
        crop = round(h * width / height)
        image = image[:, (w - crop) // 2 : (w - crop) // 2 + crop]
    else:
        crop = round(w * height / width)
        image = image[(h - crop) // 2 : (h - crop) // 2 + crop]
    return imresize(image, size=(height, width))


def to_u8(y):
    """An output tensor in [0, 1] as the uint8 image a PNG would hold."""
    import numpy as np

    from distillsr.imaging.pixels import from_float
    from distillsr.imaging.tensors import tensor_to_image

    return from_float(tensor_to_image(y.float()), np.uint8)


# --- the variants ------------------------------------------------------------------------------------


def _layout(network) -> str:
    import torch

    for p in network.parameters():
        if p.ndim == 4:
            return "NHWC" if p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() else "NCHW"
    return "?"


def tile_note(variant: Variant, height: int, width: int) -> str:
    """How the engine cut an HxW input (the API has changed over time: ask what it offers)."""
    up = getattr(variant, "upscaler", None)
    if up is None:
        return ""
    if hasattr(up, "tile_shape"):
        shape = up.tile_shape(height, width, 3)
        return "untiled" if shape is None else f"tiles {shape[0]}x{shape[1]}"
    if hasattr(up, "auto_tile"):
        tile = up.auto_tile(3) if up.settings.tile == "auto" else up.settings.tile
        return "untiled" if tile is None or tile >= max(height, width) else f"tiles {tile}x{tile}"
    return ""


def _open(name: str):
    from distillsr.checkpoints.model_loading import open_model

    return open_model(WEIGHTS / OFFICIAL_FILES[name], scale=4)


def official_variant(name: str, mirror) -> Variant:
    import torch

    scale = INPUT_RANGE[name]

    def run(x):
        with torch.no_grad():
            return mirror(x)

    return Variant("a", "(a) official eager", run, prepare=lambda x: x * scale if scale != 1 else x,
                   to_unit=lambda y: y / scale, note=f"NCHW fp32, no_grad, input 0-{scale:g}")


def upscaler_variant(name: str, key: str, label: str, precision: str | None) -> Variant:
    """An Upscaler with the engine's defaults except ``precision`` (None: the default too)."""
    from distillsr.errors import DistillsrError
    from distillsr.inference.upscaler import Upscaler

    model = _open(name)
    try:
        upscaler = Upscaler(model, device="cpu") if precision is None else Upscaler(model, device="cpu", precision=precision)
    except DistillsrError as error:
        if precision != "bf16":
            raise
        return fast_path_variant(name, key, label, f"Upscaler refused bf16 ({error}); fast_path pieces, untiled")
    resolved = str(getattr(upscaler, "precision", precision))
    if resolved == "auto":  # an engine that keeps "auto" and resolves per call
        from distillsr.inference.fast_path import resolve_precision

        resolved = resolve_precision("auto", upscaler.device)
    variant = Variant(key, label, upscaler.upscale_tensor, precision=resolved)
    variant.note = f"Upscaler: precision {resolved}, tile {upscaler.settings.tile}"
    variant.upscaler = upscaler  # type: ignore[attr-defined]  # for the tile and layout it settles on
    return variant


def fast_path_variant(name: str, key: str, label: str, note: str) -> Variant:
    """bf16 autocast + channels-last from :mod:`distillsr.inference.fast_path`, for an engine that refuses it."""
    import torch

    from distillsr.inference.fast_path import computing_at, fast_input, prepare_network

    model = _open(name)
    device = torch.device("cpu")
    model.network = prepare_network(model.network, device)

    def run(x):
        with torch.inference_mode(), computing_at("bf16", device):
            return model(fast_input(x, device)).float()

    return Variant(key, label, run, precision="bf16", note=note)


def ort_variant(name: str, folder: Path, threads: int) -> Variant | str:
    """The exported graph in onnxruntime, or why it cannot run."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as error:
        return f"skipped: {error.name} is not installed (pip install onnx onnxruntime)"
    import torch

    from distillsr.inference.export import export_onnx
    from distillsr.inference.onnx_backend import OnnxModel

    path = folder / f"{name}.onnx"
    export_onnx(_open(name), path)
    model = OnnxModel.load(path, threads=threads)

    def run(x):
        with torch.inference_mode():
            return model(x)

    return Variant("ort", "ort fp32", run, note=f"onnxruntime {onnxruntime.__version__}, {threads} thread(s), untiled")


def compile_variant(name: str) -> Variant:
    import torch

    from distillsr.inference.fast_path import fast_input, prepare_network

    model = _open(name)
    device = torch.device("cpu")
    compiled = dataclasses.replace(model, network=torch.compile(prepare_network(model.network, device)))

    def run(x):
        with torch.inference_mode():
            return compiled(fast_input(x, device))

    return Variant("compile", "compile fp32", run, note="torch.compile (inductor), NHWC fp32, untiled")


# --- measurements -----------------------------------------------------------------------------------


def conv_peak(repeats: int) -> dict[str, float]:
    """GFLOP/s of a 64->64 3x3 convolution on a 256x256 map: NCHW fp32, NHWC fp32, NHWC bf16."""
    import torch
    from _timing import interleaved

    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    conv_cl = torch.nn.Conv2d(64, 64, 3, padding=1).eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, 256, 256)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return conv_cl(x_cl)

    with torch.inference_mode():
        timed = interleaved([("nchw fp32", lambda: conv(x)), ("fp32", lambda: conv_cl(x_cl)), ("bf16", bf16)],
                            repeats=repeats, warmup=2)
    flops = 2 * 64 * 64 * 9 * 256 * 256
    return {t.label: flops / t.median / 1e9 for t in timed}


def flops_at(name: str, height: int, width: int) -> int:
    """2 x MACs of one forward at HxW, counted from shapes on the meta device (instant)."""
    import torch

    from distillsr.efficiency.ops import count_ops

    with torch.device("meta"):
        network = BUILDERS[name]()
    return count_ops(network, (1, 3, height, width), device="meta").flops


def check_mirror(name: str, mirror, samples) -> float:
    """Largest |(a) - distillsr's SRModel| over ``samples`` (tensors in [0, 1]), both eager fp32 NCHW."""
    import torch

    model = _open(name)
    scale = INPUT_RANGE[name]
    worst = 0.0
    with torch.no_grad():
        for x in samples:
            worst = max(worst, float((mirror(x * scale) / scale - model(x)).abs().max()))
    return worst


def time_size(variants: list[Variant], x, repeats: int, warmup: int) -> tuple[dict, dict, dict]:
    """Interleaved medians (s), first-call seconds and max 8-bit difference from (a) at one input."""
    from _timing import interleaved, timed_call

    prepared = {v.key: v.prepare(x) for v in variants}
    first: dict[str, float] = {}
    for v in variants:
        if v.key == "compile":  # compiling takes minutes: never inside the timed rounds
            first[v.key] = timed_call(lambda v=v: v.run(prepared[v.key]))[0]
    reference: dict[str, object] = {}
    diffs: dict[str, int] = {}
    by_label = {v.label: v for v in variants}

    def after(label: str, out) -> None:
        v = by_label[label]
        pixels = to_u8(v.to_unit(out))
        if v.key == "a":
            reference["a"] = pixels.astype("int16")
        elif "a" in reference:
            diffs[v.key] = max(diffs.get(v.key, 0), int(abs(pixels.astype("int16") - reference["a"]).max()))

    timed = interleaved([(v.label, lambda v=v: v.run(prepared[v.key])) for v in variants],
                        repeats=repeats, warmup=warmup, after=after)
    medians = {v.key: t.median for v, t in zip(variants, timed)}
    for v, t in zip(variants, timed):
        first.setdefault(v.key, t.first)
    return medians, first, diffs


def set5_quality(variants: list[Variant]) -> tuple[dict[str, float], dict[str, int]]:
    """Mean Set5 x4 PSNR (classic protocol) per variant and the max 8-bit difference from (a)."""
    from distillsr.data.eval_sets import EvalSet
    from distillsr.imaging.tensors import image_to_tensor
    from distillsr.metrics.protocols import score

    benchmark = EvalSet(DATA / "Set5", 4)
    psnrs: dict[str, list[float]] = {v.key: [] for v in variants}
    diffs: dict[str, int] = {v.key: 0 for v in variants}
    for sample in benchmark:
        x = image_to_tensor(sample.lr)
        reference = None
        for v in variants:
            pixels = to_u8(v.to_unit(v.run(v.prepare(x))))
            psnrs[v.key].append(score(pixels, sample.hr, "classic", 4).psnr)
            if v.key == "a":
                reference = pixels.astype("int16")
            else:
                diffs[v.key] = max(diffs[v.key], int(abs(pixels.astype("int16") - reference).max()))
    return {k: statistics.mean(p) for k, p in psnrs.items()}, diffs


# --- end to end ------------------------------------------------------------------------------------


def e2e(name: str, folder: Path, threads: int, repeats: tuple[int, int], warm: bool, report: Report,
        sizes: tuple[tuple[int, int], ...] = E2E_SIZES) -> list[list[str]]:
    """Whole-process and in-process seconds per image: distillsr default / --fp32 vs the official-style script."""
    from _timing import fmt, interleaved

    from distillsr.imaging.read import read_image
    from distillsr.imaging.write import write_image
    from distillsr.inference.outscale import upscale_pixels
    from distillsr.inference.upscaler import Upscaler

    weights = str(WEIGHTS / OFFICIAL_FILES[name])
    rows = []
    inputs = {}
    for height, width in sizes:
        path = folder / f"in_{width}x{height}.png"
        write_image(path, photo(height, width))
        inputs[(height, width)] = path
    common = ["-m", name, "-w", weights, "--overwrite", "-q", "--threads", str(threads)]
    mirror = build_mirror(name, weights)
    upscalers = {"default": Upscaler(_open(name), device="cpu"),
                 "fp32": Upscaler(_open(name), device="cpu", precision="fp32")}

    def process(command: list[str]) -> Callable[[], None]:
        return lambda: subprocess.run(command, check=True, capture_output=True)

    def in_process(key: str, source: Path, target: Path) -> Callable[[], None]:
        if key == "official":
            return lambda: official_style_upscale(mirror, INPUT_RANGE[name], str(source), str(target))
        return lambda: write_image(target, upscale_pixels(upscalers[key], read_image(source), 4.0))

    for index, ((height, width), source) in enumerate(inputs.items()):
        warmup = 1 if warm and index == 0 else 0  # the small image warms imports, caches and tile probes
        rounds = repeats[1] if height * width > LARGE_PIXELS else repeats[0]
        out = {k: folder / k / f"{width}x{height}" for k in ("default", "fp32", "official", "ip_default", "ip_fp32", "ip_official")}
        for path in out.values():
            path.mkdir(parents=True, exist_ok=True)
        whole = interleaved([
            ("official", process([sys.executable, str(BENCH_DIR / "official_mirrors.py"), name, weights, str(source),
                                  str(out["official"] / "out.png"), str(threads)])),
            ("default", process([sys.executable, "-m", "distillsr", "upscale", str(source), "-o", str(out["default"]), *common])),
            ("fp32", process([sys.executable, "-m", "distillsr", "upscale", str(source), "-o", str(out["fp32"]), "--fp32", *common])),
        ], repeats=rounds, warmup=warmup)
        inside = interleaved([
            (key, in_process(key, source, out[f"ip_{key}"] / "out.png")) for key in ("official", "default", "fp32")
        ], repeats=rounds, warmup=warmup)
        official_png = read_image(out["official"] / "out.png").astype("int16")
        for kind, timed in (("process", whole), ("in-process", inside)):
            base = timed[0].median
            for t in timed:
                diff = "-"
                if kind == "process" and t.label != "official":
                    diff = str(int(abs(read_image(out[t.label] / source.name).astype("int16") - official_png).max()))
                rows.append([name, f"{width}x{height}", kind, t.label, fmt(t.median), fmt(base / t.median, 2), diff])
        report(f"  e2e {name} {width}x{height}: done")
    return rows


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--repeats-large", type=int, default=2, help=f"repeats for sizes above {LARGE_PIXELS:,} pixels")
    parser.add_argument("--sizes", default="180x320,256x256,720x1280", help="LR sizes, HxW")
    parser.add_argument("--models", default="e-rfdn,dipnet,ddistill-sr,imdn")
    parser.add_argument("--e2e-models", default="e-rfdn", help="models for the end-to-end section ('' for none)")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (first call takes minutes)")
    parser.add_argument("--quick", action="store_true", help="one model, one small size, one repeat")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--keep-malloc-heap", action="store_true",
                        help="call keep_large_blocks_on_heap() first, as `distillsr upscale` does (for every in-process path)")
    args = parser.parse_args()
    if args.quick:
        args.models, args.sizes, args.repeats, args.repeats_large = "dipnet", "96x160", 1, 1
        args.e2e_models = "dipnet"

    import torch
    from _timing import fmt, table

    import distillsr

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = Report()
    heap = False
    if args.keep_malloc_heap:
        from distillsr.inference.allocator import keep_large_blocks_on_heap

        heap = keep_large_blocks_on_heap()
    names = [n for n in args.models.split(",") if n]
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    unknown = [n for n in names if n not in OFFICIAL_FILES]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(OFFICIAL_FILES)}")
    if not WEIGHTS.is_dir():
        sys.exit(f"official weights not found in {WEIGHTS}")
    from distillsr.inference.fast_path import cpu_flags

    bf16 = sorted(f for f in cpu_flags() if "bf16" in f)
    report(f"# cpu_speed: distillsr {getattr(distillsr, '__version__', '?')}, torch {torch.__version__}, "
           f"{platform.processor() or platform.machine()}, bf16 flags {bf16 or 'none'}")
    report(f"threads {args.threads}; medians of {args.repeats} interleaved runs after 1 warm-up "
           f"({args.repeats_large} runs, no warm-up, above {LARGE_PIXELS:,} px); sizes are LR HxW, x4; "
           f"malloc: {'large blocks kept on the heap (as distillsr upscale does)' if heap else 'as glibc leaves it'}")

    peak = conv_peak(max(args.repeats, 3))
    report(table(["conv 64->64 3x3, 256x256", "GFLOP/s"], [[k, fmt(v, 1)] for k, v in peak.items()],
                 "Machine conv peak (same process, 1 call = 4.83 GFLOP)"))

    timing_rows, flops_rows, quality_rows, check_rows, notes = [], [], [], [], []
    per_pixel: dict[tuple[str, str], dict[tuple[int, int], float]] = {}
    exact_lsb: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in names:
            report(f"\n## {name}")
            mirror = build_mirror(name, WEIGHTS / OFFICIAL_FILES[name])
            from distillsr.data.eval_sets import EvalSet
            from distillsr.imaging.tensors import image_to_tensor

            samples = [image_to_tensor(s.lr) for s in EvalSet(DATA / "Set5", 4)]
            samples.append(image_to_tensor(photo(*sizes[0])))
            worst = check_mirror(name, mirror, samples)
            verdict = "OK" if worst <= 1e-4 else "MISMATCH: the baseline is not the official model"
            check_rows.append([name, f"{worst:.2e}", verdict])
            report(f"  mirror vs distillsr SRModel (Set5 LR + {sizes[0][0]}x{sizes[0][1]} photo): max |diff| {worst:.2e} {verdict}")
            variants = [official_variant(name, mirror),
                        upscaler_variant(name, "default", "default", None),
                        upscaler_variant(name, "fp32", "exact fp32", "fp32"),
                        upscaler_variant(name, "bf16", "bf16", "bf16")]
            default, bf16 = variants[1], variants[3]
            if bf16.note == default.note:  # the default already is this path: timing it twice only costs minutes
                variants.remove(bf16)
                notes.append(f"{name} bf16: same engine settings as default ({default.note}); not timed twice")
            ort = ort_variant(name, folder, args.threads)
            if isinstance(ort, str):
                notes.append(f"{name}: ort {ort}")
            else:
                variants.append(ort)
            if args.compile:
                variants.append(compile_variant(name))
            for size in sizes:
                height, width = size
                large = height * width > LARGE_PIXELS
                x = image_to_tensor(photo(height, width))
                medians, first, diffs = time_size(variants, x, args.repeats_large if large else args.repeats,
                                                  0 if large else 1)
                flops = flops_at(name, height, width)
                base = medians["a"]
                for v in variants:
                    sec = medians[v.key]
                    first_note = f"first call {first[v.key]:.1f} s" if v.key == "compile" else tile_note(v, height, width)
                    timing_rows.append([name, f"{height}x{width}", v.label, fmt(sec), fmt(base / sec, 2),
                                        str(diffs.get(v.key, 0)) if v.key != "a" else "ref", first_note])
                    per_pixel.setdefault((name, v.label), {})[size] = sec / (height * width) * 1e6
                    gflops = flops / sec / 1e9
                    flops_rows.append([name, f"{height}x{width}", v.label, fmt(flops / 1e9, 1), fmt(gflops, 1),
                                       f"{100 * gflops / peak[v.precision if v.precision in peak else 'fp32']:.0f}% of {v.precision}"])
                report(f"  {height}x{width}: " + ", ".join(f"{v.label} {medians[v.key]:.3f}s" for v in variants))
            for v in variants:
                up = getattr(v, "upscaler", None)
                if up is not None and up.network is not None:
                    v.note += f", network {_layout(up.network)}"
                notes.append(f"{name} {v.label}: {v.note}")
            scored = [v for v in variants if v.key != "compile"]
            psnrs, lsb = set5_quality(scored)
            exact_lsb[name] = lsb.get("fp32", 0)
            for v in scored:
                quality_rows.append([name, v.label, fmt(psnrs[v.key], 4),
                                     "ref" if v.key == "a" else f"{psnrs[v.key] - psnrs['a']:+.4f}",
                                     "ref" if v.key == "a" else str(lsb[v.key])])
            del variants, mirror

        e2e_rows = []
        e2e_names = [n for n in args.e2e_models.split(",") if n]
        for name in e2e_names:
            e2e_rows += e2e(name, folder, args.threads, (args.repeats, args.repeats_large), not args.quick, report,
                            E2E_SIZES[:1] if args.quick else E2E_SIZES)

    report("\n## Results")
    report(table(["model", "max abs diff", "verdict"], check_rows, "Mirror check: (a) vs distillsr's SRModel, eager fp32"))
    report(table(["model", "LR", "path", "s (median)", "x vs (a)", "max 8-bit diff vs (a)", "note"], timing_rows,
                 "Forward time (one image, in-process)"))
    small, big = min(sizes, key=lambda s: s[0] * s[1]), max(sizes, key=lambda s: s[0] * s[1])
    rows = []
    for (name, label), values in per_pixel.items():
        cells = [fmt(values.get(s), 3) for s in sizes]
        ratio = values[big] / values[small] if small != big else float("nan")
        rows.append([name, label, *cells, fmt(ratio, 2)])
    report(table(["model", "path", *[f"µs/px {h}x{w}" for h, w in sizes], f"{big[0]}x{big[1]} / {small[0]}x{small[1]}"],
                 rows, "Microseconds per LR pixel"))
    report(table(["model", "LR", "path", "GFLOP/forward", "GFLOP/s", "of conv peak"], flops_rows,
                 "Achieved GFLOP/s (2 x MACs of the untiled forward / time)"))
    report(table(["model", "path", "Set5 PSNR (dB)", "ΔPSNR vs (a)", "max 8-bit diff vs (a)"], quality_rows,
                 "Set5 x4, classic protocol (Y, border 4), official LR files"))
    if e2e_rows:
        report(table(["model", "image", "measured", "path", "s (median)", "x vs official", "max diff vs official PNG"],
                     e2e_rows, "End to end: distillsr upscale vs the official-style script"))
    if not heap:
        notes.append("in-process timings leave this process's malloc as it is (the Python API does not call "
                     "distillsr.inference.allocator.keep_large_blocks_on_heap; `distillsr upscale` does, so the "
                     "whole-process end-to-end rows include it for distillsr and not for the official-style script)")
    report("\nNotes:")
    for note in notes:
        report(f"- {note}")

    report("\n## Goals")
    for name in names:
        values = per_pixel.get((name, "default"), {})
        if small != big and values:
            ratio = values[big] / values[small]
            met = "met" if ratio <= GOAL_PER_PIXEL else "NOT met"
            report(f"- {name}: default path per-pixel cost {big[0]}x{big[1]} / {small[0]}x{small[1]} = {ratio:.2f} "
                   f"(goal <= {GOAL_PER_PIXEL}): {met}")
        report(f"- {name}: exact fp32 path max 8-bit diff from (a) on Set5 = {exact_lsb[name]} (goal <= 1): "
               f"{'met' if exact_lsb[name] <= 1 else 'NOT met'}")
    for row in e2e_rows:
        name, image, kind, label, _, speedup = row[:6]
        if label in GOAL_E2E and speedup != "-":
            goal = GOAL_E2E[label]
            report(f"- {name} {image} {kind}: {label} {speedup}x the official-style script (goal >= {goal}x): "
                   f"{'met' if float(speedup) >= goal else 'NOT met'}")
    report(f"\nTotal run time: {time.perf_counter() - started:.0f} s")
    if args.output is not None:
        from distillsr.atomic import atomic_write_text

        atomic_write_text(args.output, "\n".join(report.lines) + "\n")


sys.path.insert(0, str(BENCH_DIR))  # the sibling helpers, also when imported from elsewhere
from official_mirrors import (
    BUILDERS,
    INPUT_RANGE,
    OFFICIAL_FILES,
    build_mirror,
    official_style_upscale,
)

if __name__ == "__main__":
    main()
