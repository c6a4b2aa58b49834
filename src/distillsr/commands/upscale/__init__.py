"""``distillsr upscale``: upscale image files, folders and glob patterns into an output folder.

Flags Real-ESRGAN's ``inference_realesrgan.py`` users know keep their spelling where it costs
nothing (``-i``, ``-o``, ``-n/--model_name``, ``-s/--outscale``, ``-t/--tile``, ``--tile_pad``,
``--ext``, ``--suffix``, ``--fp32``, ``--alpha_upsampler``). Differences worth knowing:

* the default suffix is empty: the output folder already tells results apart, and equal names
  keep LR/SR pairs matched; an output that would replace its own input is refused;
* the default format is PNG (lossless, holds alpha and 16 bits); ``--format same`` keeps each
  input's format;
* ``-s`` other than the model's scale resizes the model's output with MATLAB bicubic, with a note.

One failing file is an ``error:`` line and the rest go on; the exit code is 1 when any failed. A
full or read-only disk stops the run at once, with the number of images not done.

The package: :mod:`.inputs` (which files), :mod:`.outputs` (where their outputs go, and which
are refused), :mod:`.jobs` (one file at a time). This module is the flags and the run; it imports
nothing heavy at module level, so ``distillsr upscale --help`` loads neither torch nor NumPy —
the submodules (which use NumPy) are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr import console
from distillsr.commands.common import non_negative_int, positive_float, positive_int
from distillsr.errors import DistillsrError
from distillsr.inference import precision_names

if TYPE_CHECKING:
    from distillsr.inference.session import UpscaleSession

# The keys of distillsr.commands.upscale.outputs.FORMATS, repeated so that --help imports no NumPy.
FORMAT_CHOICES = ("png", "jpg", "jpeg", "webp", "same", "auto")
SKIPPED_HINT = "use --overwrite to replace existing outputs"

_log = console.get_logger(__name__)


def _tile(text: str) -> int | str:
    """``auto`` or a non-negative tile side; 0 turns tiling off."""
    if text.lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a tile size in pixels, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"tile size must be 0 (no tiling) or positive, got {text!r}")
    return value


def _quality(text: str) -> int:
    value = positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"quality goes from 1 to 100, got {text!r}")
    return value


def _png_compression(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a zlib level from 0 to 9, got {text!r}") from None
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"PNG compression goes from 0 to 9, got {text!r}")
    return value


def _report(kind: str, name: str, message: str) -> None:
    """One line per file event; the console handler writes it past the progress bars."""
    if kind == "error":
        _log.error(f"{name}: {message}")
    else:
        _log.info(f"{kind}: {name}: {message}")


def _header(session: UpscaleSession, count: int, folder: Path) -> str:
    model, upscaler = session.model, session.upscaler
    tile = upscaler.settings.tile
    tiling = "off" if tile in (None, 0) else tile if tile == "auto" else f"{tile} px"
    at = "" if session.width is None else f" at width {session.width:g}"
    return (
        f"model {model.name} x{model.scale}{at} | {upscaler.device} {upscaler.precision} | tile {tiling} | "
        f"{count} image{'s' if count != 1 else ''} -> {folder}"
    )


def _scale_note(session: UpscaleSession) -> str:
    """Said when the session resizes (:attr:`~distillsr.inference.session.UpscaleSession.resized`)."""
    model = session.model
    return (
        f"note: {model.name} upscales x{model.scale}; its output is resized to x{session.outscale:g} "
        "with MATLAB bicubic (-s)"
    )


def run(args: argparse.Namespace) -> int:
    from distillsr.commands.upscale.inputs import collect_inputs
    from distillsr.commands.upscale.jobs import RunSettings, run_jobs
    from distillsr.commands.upscale.outputs import (
        OutputOptions,
        check_output_folder,
        plan_jobs,
    )
    from distillsr.inference.session import upscale_session

    folder = Path(args.output)
    options = OutputOptions(folder, args.suffix, args.format, args.quality, args.overwrite, args.png_compression)
    check_output_folder(folder)  # before the inputs are listed and the model loaded: it costs nothing
    sources = collect_inputs(_inputs(args), recursive=args.recursive, exclude=folder, report=_report)
    jobs = plan_jobs(sources, options)
    from distillsr.inference.allocator import keep_large_blocks_on_heap

    keep_large_blocks_on_heap()  # a command that ends when done: reuse big blocks instead of an mmap per layer
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    session = upscale_session(  # a zoo name without widths, or --dynamic with --width, fails before any download
        args.model, weights=args.weights, scale=args.scale, width=args.width, dynamic=args.dynamic,
        backend=args.backend, threads=args.threads, device=args.device, precision=args.precision, tile=args.tile,
        pad=args.tile_pad, progress=not args.quiet,
        memory_limit=None if args.max_memory is None else int(args.max_memory * (1 << 30)),
    )
    with session as ready:  # the model runs at --width for this run only: a cached model keeps its own
        _log.info(_header(ready, len(jobs), folder))
        if ready.resized:
            _log.info(_scale_note(ready))
        folder.mkdir(parents=True, exist_ok=True)
        summary = run_jobs(jobs, ready, RunSettings(options, args.alpha), _report, progress=not args.quiet)
    hint = f" ({SKIPPED_HINT})" if summary.skipped else ""
    print(f"{summary}{hint}")
    if ready.chooser is not None:
        print(f"dynamic: {ready.chooser.summary().describe('tile')}")
    if summary.stopped is not None:
        sys.stdout.flush()  # the summary first, then the line that says why the run stopped
        raise DistillsrError(summary.stopped)
    return 0 if summary.failed == 0 else 1


def _bf16_cost_note() -> str:
    """What bf16 costs the built-in x4 model, from its card (a small JSON read; no torch)."""
    from distillsr.models.reduced_precision import describe_cost

    cost = describe_cost("builtin", 4)
    return f"bf16 costs the built-in x4 model {cost} (distillsr zoo lists every model's)" if cost else ""


def _inputs(args: argparse.Namespace) -> list[str]:
    inputs = [*args.inputs, *args.more_inputs]
    if not inputs:
        raise DistillsrError("no input given: name image files, folders or glob patterns (distillsr upscale photo.jpg -o out/)")
    return inputs


def register(commands: argparse._SubParsersAction) -> None:
    up = commands.add_parser(
        "upscale",
        help="upscale image files, folders or glob patterns with a model",
        description="Upscale images into an output folder. One failing file is reported and the rest go on; "
        "the exit code is 1 if any failed.",
    )
    up.add_argument("inputs", nargs="*", metavar="INPUT",
                    help="image files, folders and glob patterns (quote them: expanded here, ** for subfolders)")
    up.add_argument("-i", "--input", dest="more_inputs", nargs="+", action="extend", default=[], metavar="INPUT",
                    help="more inputs, as Real-ESRGAN spells them")
    up.add_argument("-o", "--output", required=True, metavar="FOLDER",
                    help="output folder (created); inputs are never overwritten")
    up.add_argument("-r", "--recursive", action="store_true", help="include images in subfolders of input folders")
    up.add_argument("-m", "--model", "-n", "--model_name", dest="model", metavar="MODEL",
                    help="builtin (the default: distillsr's own x2/x3/x4 model, shipped with the package), "
                    "a zoo name (e.g. e-rfdn: without -w its official weights, downloaded once into "
                    "$DISTILLSR_HOME; bicubic needs none) or a checkpoint file (.safetensors, official .pth)")
    up.add_argument("-w", "--weights", metavar="FILE", help="weights for a zoo model name given with -m")
    up.add_argument("-s", "--scale", "--outscale", dest="scale", type=positive_float, metavar="SCALE",
                    help="output scale (default 4 with the built-in model, else the model's own); the built-in "
                    "model of that scale is used (x2, x3, x4), and any other value resizes a model's "
                    "output with MATLAB bicubic. Required for -m bicubic")
    up.add_argument("-t", "--tile", type=_tile, default="auto", metavar="N|auto",
                    help="tile side in input pixels; 0: no tiling; auto: sized to fit memory (default: auto)")
    up.add_argument("--max-memory", type=positive_float, metavar="GB",
                    help="memory one forward may use before the image is tiled (default: half of what is free)")
    up.add_argument("--tile-pad", "--tile_pad", dest="tile_pad", type=non_negative_int, metavar="P",
                    help="context pixels around each tile (default: the engine's, 24)")
    up.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: auto")
    precision = up.add_mutually_exclusive_group()  # --fp32 is --precision fp32: both at once, one would be ignored
    precision.add_argument("--precision", default="auto", choices=precision_names.CHOICES,
                           help="auto (the default): bf16 on a CPU with native bf16 (AVX512-BF16/AMX) and fp16 on "
                           "CUDA, for models that take it, else fp32; fp32: the exact path (within one 8-bit level "
                           f"of plain float32); fp16 needs CUDA. {_bf16_cost_note()}")
    precision.add_argument("--fp32", dest="precision", action="store_const", const="fp32",
                           help="the exact path: same as --precision fp32 (Real-ESRGAN's spelling; not with --precision)")
    up.add_argument("--format", "--ext", dest="format", default="png", choices=list(FORMAT_CHOICES),
                    help="output format; same (or auto): each input's own (default: png)")
    up.add_argument("--suffix", default="", help="appended to each output file's stem (default: none)")
    up.add_argument("--quality", type=_quality, default=95, help="JPEG/WEBP quality 1-100 (default: 95)")
    up.add_argument("--png-compression", type=_png_compression, default=1, metavar="0-9",
                    help="PNG zlib level: 1 (the default, as OpenCV writes) is ~5x faster to write than 6 for "
                    "files ~12%% larger; 9 for the smallest files")
    up.add_argument("--alpha", "--alpha_upsampler", dest="alpha", default="bicubic", choices=["bicubic", "model"],
                    help="how an alpha channel is upscaled (default: bicubic)")
    up.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    up.add_argument("--backend", default="torch", choices=["torch", "onnxruntime"],
                    help="onnxruntime runs a .onnx model given with -m (default: torch)")
    up.add_argument("--threads", type=positive_int, metavar="N",
                    help="CPU threads, for the torch and the onnxruntime backend alike (default: all cores)")
    up.add_argument("--dynamic", action="store_true",
                    help="run each tile (the whole image when it fits) at the width chosen by the thresholds "
                    "stored by distillsr calibrate (slimmable checkpoints); reports the mean width and MACs spent")
    up.add_argument("--width", type=float, metavar="W",
                    help="run a channel-splitting (CSD) model at one of the widths it was trained at, e.g. 0.5")
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    up.set_defaults(handler=run)
