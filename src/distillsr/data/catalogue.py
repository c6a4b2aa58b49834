"""The datasets distillsr knows how to fetch: an explicit table of URLs, sizes and checksums.

Every checksum here was copied from a public record, never computed from a guess, and its source
is named on the entry (``checksum_source``):

* DIV2K: sha256 and byte size of each official ``data.vision.ee.ethz.ch`` archive, from
  TensorFlow Datasets' ``tensorflow_datasets/datasets/div2k/checksums.tsv`` (the train HR and the
  train LR X2/X3/X4 values also match the git-lfs object ids of the Hugging Face mirror
  ``goodfellowliu/DIV2K``).
* Flickr2K and the EDSR benchmark archive: their publishers give no checksum; the md5 recorded
  by torchSR (``Coloquinte/torchSR``, ``torchsr/datasets/flickr2k.py`` and ``benchmarks.py``),
  which verifies its own downloads with it, is used. Their sizes are unknown, so the downloader
  prints the sha256 it computed for the record.

A file without any checksum is still downloaded; the downloader then says it could not be
verified and prints the sha256 it measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillsr.errors import DistillsrError


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: where from, its name on disk, and what it must hash to if known."""

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None

    @property
    def is_archive(self) -> bool:
        return self.filename.lower().endswith((".zip", ".tar", ".tar.gz", ".tgz"))

    @property
    def checksum(self) -> str:
        """How this file is verified, for the catalogue listing."""
        if self.sha256:
            return "sha256"
        if self.md5:
            return "md5"
        return "none"


@dataclass(frozen=True)
class DatasetEntry:
    """A named dataset: its files, where they land when extracted, and how to credit it."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    layout: str
    license: str
    citation: str
    homepage: str
    checksum_source: str = ""

    @property
    def total_size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[arg-type]


_DIV2K_BASE = "https://data.vision.ee.ethz.ch/cvl/DIV2K"
_DIV2K_HOME = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
_DIV2K_CITATION = (
    "E. Agustsson and R. Timofte, NTIRE 2017 Challenge on Single Image Super-Resolution: "
    "Dataset and Study, CVPR Workshops 2017"
)
_DIV2K_LICENSE = "academic research use; see the terms on the DIV2K page"
_DIV2K_SOURCE = "TensorFlow Datasets, tensorflow_datasets/datasets/div2k/checksums.tsv"
_EDSR_CITATION = (
    "B. Lim, S. Son, H. Kim, S. Nah and K. M. Lee, Enhanced Deep Residual Networks for Single "
    "Image Super-Resolution, CVPR Workshops 2017"
)
_TORCHSR_SOURCE = "torchSR (Coloquinte/torchSR) download table; md5 only, not published by the authors"


def _div2k_file(name: str, size: int, sha256: str) -> RemoteFile:
    return RemoteFile(url=f"{_DIV2K_BASE}/{name}", filename=name, sha256=sha256, size=size)


def _div2k(name: str, description: str, archive: str, size: int, sha256: str, layout: str) -> DatasetEntry:
    return DatasetEntry(
        name=name,
        description=description,
        files=(_div2k_file(archive, size, sha256),),
        layout=layout,
        license=_DIV2K_LICENSE,
        citation=_DIV2K_CITATION,
        homepage=_DIV2K_HOME,
        checksum_source=_DIV2K_SOURCE,
    )


# (split, scale, bytes, sha256) of the official bicubic LR archives
_DIV2K_LR = (
    ("train", 2, 925390592, "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"),
    ("train", 3, 427847282, "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a"),
    ("train", 4, 246914039, "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a"),
    ("valid", 2, 117763600, "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"),
    ("valid", 3, 54513392, "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3"),
    ("valid", 4, 31505881, "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553"),
)

_RANGES = {"train": "0001-0800", "valid": "0801-0900"}


def _build_catalogue() -> tuple[DatasetEntry, ...]:
    entries = [
        _div2k(
            "div2k-train-hr",
            "DIV2K training set: 800 2K-resolution HR images (the usual SR training set)",
            "DIV2K_train_HR.zip",
            3530603713,
            "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
            "DIV2K_train_HR/0001.png ... 0800.png",
        ),
        _div2k(
            "div2k-valid-hr",
            "DIV2K validation set: 100 2K-resolution HR images (0801-0900)",
            "DIV2K_valid_HR.zip",
            448993893,
            "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
            "DIV2K_valid_HR/0801.png ... 0900.png",
        ),
    ]
    for split, scale, size, sha256 in _DIV2K_LR:
        first, last = _RANGES[split].split("-")
        entries.append(
            _div2k(
                f"div2k-{split}-lr-bicubic-x{scale}",
                f"DIV2K {split} LR images, MATLAB bicubic x{scale} (NTIRE 2017 track 1)",
                f"DIV2K_{split}_LR_bicubic_X{scale}.zip",
                size,
                sha256,
                f"DIV2K_{split}_LR_bicubic/X{scale}/{first}x{scale}.png ... {last}x{scale}.png "
                f"(pairs with DIV2K_{split}_HR by name)",
            )
        )
    entries.append(
        DatasetEntry(
            name="flickr2k",
            description="Flickr2K: 2650 2K-resolution images collected for EDSR (DF2K = DIV2K + Flickr2K)",
            files=(RemoteFile("https://cv.snu.ac.kr/research/EDSR/Flickr2K.tar", "Flickr2K.tar", md5="5d3f39443d5e9489bff8963f8f26cb03"),),
            layout=(
                "Flickr2K/Flickr2K_HR/000001.png ... 002650.png, Flickr2K/Flickr2K_LR_bicubic/X{2,3,4}/000001x4.png, "
                "Flickr2K/Flickr2K_LR_unknown/X{2,3,4}/"
            ),
            license="images from Flickr; no license is stated by the distributors, check before use",
            citation=_EDSR_CITATION,
            homepage="https://github.com/LimBee/NTIRE2017",
            checksum_source=_TORCHSR_SOURCE,
        )
    )
    entries.append(
        DatasetEntry(
            name="benchmark",
            description="EDSR's benchmark archive: Set5, Set14, B100, Urban100 with bicubic LR x2/x3/x4",
            files=(RemoteFile("https://cv.snu.ac.kr/research/EDSR/benchmark.tar", "benchmark.tar", md5="4ace41d33c2384b97e6b320cd0afd6ba"),),
            layout=(
                "benchmark/{Set5,Set14,B100,Urban100}/HR/*.png and LR_bicubic/X{2,3,4}/*x{2,3,4}.png "
                "(the EDSR layout: pass benchmark/Set5 to `distillsr eval --data`)"
            ),
            license="each set under its authors' terms (research use)",
            citation=(
                "Set5: Bevilacqua et al., BMVC 2012; Set14: Zeyde et al., Curves and Surfaces 2010; "
                "B100: Martin et al., ICCV 2001; Urban100: Huang et al., CVPR 2015; archive: " + _EDSR_CITATION
            ),
            homepage="https://github.com/sanghyun-son/EDSR-PyTorch",
            checksum_source=_TORCHSR_SOURCE,
        )
    )
    return tuple(entries)


CATALOGUE: tuple[DatasetEntry, ...] = _build_catalogue()


def dataset_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in CATALOGUE)


def get_entry(name: str) -> DatasetEntry:
    """The catalogue entry called ``name`` (case-insensitive), or an error listing the names."""
    key = name.lower()
    for entry in CATALOGUE:
        if entry.name == key:
            return entry
    raise DistillsrError(f"unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}")


def format_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def format_catalogue() -> str:
    """The table ``distillsr data list`` prints."""
    width = max(len(entry.name) for entry in CATALOGUE)
    header = f"{'name':<{width}}  {'size':>8}  {'checksum':<8}  description"
    lines = [header, "-" * len(header)]
    for entry in CATALOGUE:
        checks = sorted({f.checksum for f in entry.files})
        lines.append(f"{entry.name:<{width}}  {format_size(entry.total_size):>8}  {'/'.join(checks):<8}  {entry.description}")
    return "\n".join(lines)
