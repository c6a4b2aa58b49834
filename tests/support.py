"""Helpers tests import (``from support import ...``): where ``../shared`` is, and how to do without it;
plus the few fixtures-as-functions several test folders share (random model states, synthetic
images, the hand-counted efficiency model).

Tests that need the real images or official weights call :func:`require_shared`; it skips with
the missing path named, so a user's clone passes without ``../shared``. CI sets
``DISTILLSR_REQUIRE_SHARED=1`` (``.ci/run``), and then a missing path fails the test instead: a
moved or renamed shared file must not turn the reference tests silently into skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISTILLSR_SHARED", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"
REQUIRE_SHARED_VARIABLE = "DISTILLSR_REQUIRE_SHARED"


def shared_is_required() -> bool:
    """Whether a missing ``../shared`` path is a failure (CI) rather than a skip (a user's clone)."""
    return os.environ.get(REQUIRE_SHARED_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def require_shared(*parts: str) -> Path:
    """The path under ``../shared``, or a clean skip naming what is missing (a failure under CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is not available (the ../shared folder of real images and weights is absent)"
        if shared_is_required():
            pytest.fail(f"{reason}; {REQUIRE_SHARED_VARIABLE} is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    return path


def official_weights(family: str, filename: str) -> Path:
    """An official checkpoint under ``../shared/weights/official`` or a clean skip."""
    return require_shared("weights", "official", family, filename)


def read_key_file(path: Path) -> dict[str, tuple[int, ...]]:
    """``name [d1,d2,...]`` lines of a reference key list (``#`` lines are comments)."""
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(" ", 1)
        dims = shape.strip().strip("[]")
        keys[name] = tuple(int(d) for d in dims.split(",") if d.strip())
    return keys


def state_dict_shapes(module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


# --- models and folds --------------------------------------------------------------------------

#: How close a folded (deploy-form) model must stay to its train form, per dtype.
FOLD_TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomise(model: nn.Module, seed: int, std: float = 0.1) -> nn.Module:
    """Random weights and random BN statistics, so no branch or BN of a fold hides behind defaults."""
    generator = torch.Generator().manual_seed(seed)

    def normal(t: torch.Tensor, scale: float) -> torch.Tensor:
        return torch.randn(t.shape, generator=generator, dtype=torch.float64).to(t.dtype) * scale

    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(normal(parameter, std))
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(1.0 + normal(module.weight, 0.3))
                module.bias.copy_(normal(module.bias, 0.3))
                module.running_mean.copy_(normal(module.running_mean, 0.3))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator).to(module.running_var.dtype))
    return model.eval()


def randomise_parameters(model: nn.Module, seed: int, std: float = 0.1) -> nn.Module:
    """Non-trivial weights and biases everywhere, so no branch of a fold can hide behind zeros."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)
    return model


def max_diff(a: torch.Tensor | tuple, b: torch.Tensor | tuple) -> float:
    """Largest absolute difference, through the ``(out, res)`` tuples some units return."""
    if isinstance(a, tuple):
        return max(max_diff(x, y) for x, y in zip(a, b))
    return (a - b).abs().max().item()


def lr_image(scale_to: float = 255.0, size: int = 8, seed: int = 1) -> torch.Tensor:
    """A seeded random 1x3xNxN input on the 0-255 scale the CSD models expect."""
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed)) * scale_to


# --- inference ---------------------------------------------------------------------------------


def photo(height: int = 96, width: int = 128) -> np.ndarray:
    """A real photograph (scikit-image's astronaut, halved), so tiling errors look like they would."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::2, ::2][:height, :width])


def photo_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> 1xCxHxW float32 in [0, 1], written independently of distillsr.imaging.tensors."""
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


class LocalConvStack(nn.Module):
    """Five 3x3 convs (receptive-field radius 5) and a pixel shuffle: purely local."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        layers = []
        for i in range(5):
            layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


# --- image files -------------------------------------------------------------------------------


def save_image(path: Path, array: np.ndarray) -> None:
    """Write ``array`` with Pillow (independently of distillsr's writer), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A textured image whose bicubic downscale is not trivially constant."""
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR))
    noise = rng.integers(-20, 21, big.shape)
    return np.clip(big.astype(int) + noise, 0, 255).astype(np.uint8)


# --- efficiency: a hand-built model whose counts are written out from its layer shapes ---------


def conv_params(cin: int, cout: int, k: int, *, groups: int = 1, bias: bool = True) -> int:
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def conv_macs(cin: int, cout: int, k: int, hout: int, wout: int, *, groups: int = 1) -> int:
    return cout * hout * wout * (cin // groups) * k * k


def tiny_sr() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 1),
        nn.ReLU(),
        nn.Conv2d(8, 3 * 4, 3, padding=1),
        nn.PixelShuffle(2),
    )


H, W = 16, 20
TINY_SHAPE = (1, 3, H, W)
TINY_PARAMS = conv_params(3, 8, 3) + conv_params(8, 8, 1) + conv_params(8, 12, 3)
TINY_MACS = conv_macs(3, 8, 3, H, W) + conv_macs(8, 8, 1, H, W) + conv_macs(8, 12, 3, H, W)
TINY_ACTIVATIONS = 8 * H * W + 8 * H * W + 12 * H * W


class FunctionalConv(nn.Module):
    """Owns a weight but convolves with F.conv2d, which module-hook counters would miss."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight, padding=1)


def random_state(model: str, scale: int, *, seed: int = 0) -> dict:
    """A zoo model's freshly initialised state dict (seeded), as a file of one would hold it."""
    import torch

    from distillsr.models.zoo import build_model

    torch.manual_seed(seed)
    return {k: v.clone() for k, v in build_model(model, scale).network.state_dict().items()}


class CallsTheShell:
    """A pickle payload that asks to run os.system on load; a safe loader must never call it."""

    def __reduce__(self):
        import os

        return (os.system, ("echo this must never run",))


def check_published_widths(model, published_millions: dict[float, float]) -> None:
    """A CSD model's active parameters per width equal the published table (millions, as printed)."""
    from distillsr.efficiency.params import count_parameters
    from distillsr.errors import DistillsrError
    from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count

    counts = {w: active_parameter_count(model, w) for w in DEFAULT_WIDTHS}
    assert {w: round(n / 1e6, 2) for w, n in counts.items()} == published_millions
    assert counts[1.0] == count_parameters(model).total  # mean shifts are buffers, not parameters
    with pytest.raises(DistillsrError):
        active_parameter_count(model, 0.6)


def check_forward_at_every_width(model, scale: int) -> None:
    """The model runs at every CSD width and upscales by ``scale`` (a 4x4 input, so it stays cheap)."""
    import torch

    from distillsr.nn.slimmable import DEFAULT_WIDTHS, width

    model = model.eval()
    with torch.no_grad():
        for w in DEFAULT_WIDTHS:
            with width(model, w):
                assert model(lr_image(size=4)).shape == (1, 3, 4 * scale, 4 * scale)


def calling_twice(module):
    """A model that applies the same ``module`` twice: counters must count each call, not each layer."""
    from torch import nn

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x):
            return self.inner(self.inner(x))

    return Twice()


# --- the real command in a fresh process ---------------------------------------------------------

import subprocess  # noqa: E402  (this section's helpers run the command; kept beside them)
import sys  # noqa: E402


def run_cli_process(*args: str) -> subprocess.CompletedProcess:
    """The real command in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "distillsr", *args], capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 1, no traceback, and exactly one ``distillsr: error:`` line holding every fragment."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("distillsr: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


# --- training runs: `distillsr train` on a tiny recipe (the engine's tests and the command's) -----

TRAIN_RECIPE = """
name: tiny
seed: 3
output_dir: {out}
model:
  name: imdn
  scale: 2
  kwargs: {{channels: 16, num_blocks: 1}}
data:
  train:
    hr_folders: [{images}]
    lr_patch_size: {patch}
    batch_size: {batch}
    num_workers: {workers}
    repeat: 4
  val:
    folders: [{val}]
    every: {val_every}
stages:
  - kind: train
    iterations: {iterations}
    optimizer: {{type: adam, lr: 2.0e-3}}
    scheduler: {{type: multistep, milestones: [{milestone}], gamma: 0.5}}
    ema_decay: {ema}
{extra_stages}
logging:
  print_every: {print_every}
checkpoint:
  every: {every}
  keep: 0
"""

# The signal tests need a run long enough that the signal lands mid-run however busy the machine
# is: about 10 ms an iteration on a free CPU core, so the run lasts a second or two after it.
SIGNAL_RUN = {"iterations": 150, "batch": 8, "patch": 16, "print_every": 1, "every": 0}


def training_images(folder: Path) -> Path:
    """Eight small real photos (scikit-image's bundled samples), cropped, written into ``folder``."""
    from skimage import data as skdata

    photos = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    index = 0
    for picture in photos:
        for top in (0, 60):
            Image.fromarray(np.ascontiguousarray(picture[top : top + 40, 20:76])).save(folder / f"img{index}.png")
            index += 1
    return folder


def training_recipe(tmp_path: Path, images: Path, out: Path, *, iterations=10, batch=4, workers=0, ema="0.9",
                    val_every=0, extra_stages="", patch=12, print_every=2, every=1, val: Path | None = None) -> Path:
    """:data:`TRAIN_RECIPE` filled in and written beside the test's other files."""
    text = TRAIN_RECIPE.format(
        out=out, images=images, batch=batch, workers=workers, iterations=iterations, patch=patch,
        milestone=iterations // 2, ema=ema, val=val or images, val_every=val_every, extra_stages=extra_stages,
        print_every=print_every, every=every,
    )
    path = tmp_path / f"recipe_{out.name}.yaml"
    path.write_text(text)
    return path


def training_env() -> dict:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"  # the same thread count in every run: identical reduction orders
    env["PYTHONHASHSEED"] = "0"
    return env


def train_command(recipe: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "distillsr", "train", str(recipe), "-q", *extra]


def run_train(recipe: Path, *extra: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """``distillsr train`` in a fresh process, run from the repository root."""
    return subprocess.run(
        train_command(recipe, *extra), capture_output=True, text=True, timeout=timeout, env=training_env(), cwd=REPO_ROOT
    )


def log_rows(path: Path) -> int:
    """Rows of a run's log.csv so far (0 before it exists): how far a running training has got."""
    try:
        return max(0, len(path.read_text().splitlines()) - 1)
    except OSError:
        return 0


# --- downloads served offline: a fake opener and in-memory archives ----------------------------

DOWNLOAD_URL = "https://example.invalid/files/"


class FakeResponse:
    """What urlopen returns, reduced to what the downloader reads; can fail mid-stream."""

    def __init__(self, body: bytes, status: int, headers: dict[str, str], fail_after: int | None = None):
        import io

        self._body = io.BytesIO(body)
        self.status = status
        self.headers = headers
        self._fail_after = fail_after
        self._sent = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        if self._fail_after is not None:
            size = min(size if size > 0 else self._fail_after, self._fail_after - self._sent)
        chunk = self._body.read(size)
        self._sent += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeServer:
    """An ``opener`` serving in-memory files, recording each request's URL and Range header."""

    def __init__(self, files: dict[str, bytes], *, honour_range: bool = True, fail_after: int | None = None):
        self.files = files
        self.honour_range = honour_range
        self.fail_after = fail_after
        self.requests: list[tuple[str, str | None]] = []

    def __call__(self, request, timeout=None):
        import re
        import urllib.error

        url, wanted = request.full_url, request.get_header("Range")
        self.requests.append((url, wanted))
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        data = self.files[url]
        if wanted and self.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))
            if start >= len(data):
                raise urllib.error.HTTPError(url, 416, "Range Not Satisfiable", {}, None)
            body = data[start:]
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}", "Content-Length": str(len(body))}
            return FakeResponse(body, 206, headers, self.fail_after)
        return FakeResponse(data, 200, {"Content-Length": str(len(data))}, self.fail_after)


def catalogue_entry(filename: str, data: bytes, *, sha256: str | None | bool = True, size: bool = True,
                    md5: str | None = None, url=None):
    """A one-file catalogue entry for ``data`` (its sha256 and size unless told otherwise)."""
    import hashlib

    from distillsr.data.catalogue import DatasetEntry, RemoteFile

    digest = hashlib.sha256(data).hexdigest() if sha256 is True else sha256
    remote = RemoteFile(url or DOWNLOAD_URL + filename, filename, sha256=digest, size=len(data) if size else None, md5=md5)
    return DatasetEntry("test-set", "test data", (remote,), layout="", license="", citation="", homepage="")


class EchoLines(list):
    """An ``echo`` that keeps the lines it is given."""

    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)


def download_payload() -> bytes:
    """300 kB of seeded random bytes: large enough to cut mid-transfer."""
    return np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            bundle.addfile(info)
    return buffer.getvalue()


# --- small zoo models: the ONNX export tests and the ONNX backend tests ----------------------------

# Small versions of every zoo model but bicubic (which cannot be exported).
SMALL_ZOO_KWARGS = {
    "e-rfdn": dict(channels=16, num_blocks=1),
    "rfdn": dict(channels=16, num_blocks=1),
    "rfdn-l": dict(channels=16, num_blocks=1),
    "imdn": dict(channels=16, num_blocks=1),
    "ddistill-sr": dict(channels=16, num_blocks=1, fusion_rank=4),
    "dipnet": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "edipv1": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "dipnet-student": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1, expansion=32),
    "edsr-baseline": dict(num_blocks=1, channels=16),
    "edsr": dict(num_blocks=1, channels=16),
    "rcan": dict(num_groups=1, num_blocks=1, channels=16, reduction=4),
    "carn": dict(channels=16),
}


def small_zoo_model(name: str, scale: int = 2):
    """A seeded small version of the zoo model ``name`` (an SRModel)."""
    from distillsr.models.zoo import build_model

    torch.manual_seed(0)
    return build_model(name, scale, **SMALL_ZOO_KWARGS[name])


def perturb_batchnorm_statistics(model):
    """Non-trivial running statistics, so folding them is actually exercised (the SRModel is returned)."""
    generator = torch.Generator().manual_seed(1)
    for module in model.network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return model
