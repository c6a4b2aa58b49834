"""Published and reference scores of the zoo models, each with its protocol and source.

"published" rows are what the papers (or challenge reports) print; "reference" rows are what the
official code scores with the official weights under distillsr's ``classic`` protocol
(``shared/reference/scores.md``) — the numbers a faithful implementation reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedScore:
    dataset: str
    scale: int
    psnr: float
    ssim: float | None
    protocol: str  # "classic" (Y, border = scale) or "ntire" (RGB, border 4)
    source: str
    kind: str = "published"  # or "reference"
    note: str = ""


def _table(rows, datasets, protocol, source, note="") -> tuple[PublishedScore, ...]:
    scores = []
    for scale, values in rows:
        for dataset, (psnr, ssim) in zip(datasets, values):
            scores.append(PublishedScore(dataset, scale, psnr, ssim, protocol, source, note=note))
    return tuple(scores)


BENCHMARKS = ("Set5", "Set14", "B100", "Urban100", "Manga109")
_SCORES_MD = "official code + weights, classic protocol (shared/reference/scores.md)"

RFDN = _table(
    [
        (2, [(38.05, 0.9606), (33.68, 0.9184), (32.16, 0.8994), (32.12, 0.9278), (38.88, 0.9773)]),
        (3, [(34.41, 0.9273), (30.34, 0.8420), (29.09, 0.8050), (28.21, 0.8525), (33.67, 0.9449)]),
        (4, [(32.24, 0.8952), (28.61, 0.7819), (27.57, 0.7360), (26.11, 0.7858), (30.58, 0.9089)]),
    ],
    BENCHMARKS, "classic", "RFDN paper Table 3 (ECCVW 2020), via a third-party transcription",
)

IMDN = _table(
    [
        (2, [(38.00, 0.9605), (33.63, 0.9177), (32.19, 0.8996), (32.17, 0.9283), (38.88, 0.9774)]),
        (3, [(34.36, 0.9270), (30.32, 0.8417), (29.09, 0.8046), (28.17, 0.8519), (33.61, 0.9445)]),
        (4, [(32.21, 0.8948), (28.58, 0.7811), (27.56, 0.7353), (26.04, 0.7838), (30.45, 0.9075)]),
    ],
    BENCHMARKS, "classic", "IMDN paper (ACM MM 2019), MATLAB evaluation",
) + (
    PublishedScore("Set5", 2, 37.9960, 0.96049, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 2, 33.5322, 0.91722, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set5", 3, 34.3597, 0.92698, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 3, 30.2271, 0.84059, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set5", 4, 32.2096, 0.89476, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 4, 28.4875, 0.77954, "classic", _SCORES_MD, "reference"),
)

E_RFDN = (
    PublishedScore("DIV2K-val", 4, 29.04, None, "ntire", "NTIRE 2022/2023 efficient-SR reports (RFDN baseline row)"),
    PublishedScore("Set5", 4, 32.1589, 0.89459, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 4, 28.5507, 0.78093, "classic", _SCORES_MD, "reference"),
)

DDISTILL_SR = _table(
    [(4, [(32.23, 0.8960), (28.62, 0.7823), (27.58, 0.7365), (26.20, 0.7891), (30.48, 0.9090)])],
    BENCHMARKS, "classic", "DDistill-SR (TMM 2023) via Aitical/CFSR README (third party)",
    note="the released checkpoint differs slightly from the paper's model",
) + (
    PublishedScore("Set5", 4, 32.2835, 0.89612, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 4, 28.5923, 0.78179, "classic", _SCORES_MD, "reference"),
)

DIPNET = (
    PublishedScore("DIV2K-val", 4, 29.04, None, "ntire", "NTIRE 2023 efficient-SR report (team MegSR)"),
    PublishedScore("Set5", 4, 31.8053, 0.88977, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 4, 28.3472, 0.77576, "classic", _SCORES_MD, "reference"),
)

EDIPV1 = (PublishedScore("DIV2K-val", 4, 29.00, None, "ntire", "DIPNet NTIRE 2023 factsheet (EDIP row)"),)

# --- the field's yardsticks since 2023 (methods.md §0.5b) ---------------------------------------------
# "published": the authors' figures as quoted in issue 19's table (PSNR only, classic protocol).
# "reference": distillsr eval of the official file (classic protocol, Set5/Set14 HR folders of
# ../shared/data); distillsr's modules give the official code's outputs exactly on these files
# (tests/models/test_rlfn.py, test_efdn.py, test_span.py, test_dipnet_slim.py against
# benchmarks/official_mirrors.py), so these are the official code's scores.
_ISSUE_19 = "authors' published figures, as quoted in issue 19 (yardsticks)"
_MEASURED = "official weights, distillsr eval (equal to the official code's outputs), classic protocol"


def _psnr_only(rows, source: str) -> tuple[PublishedScore, ...]:
    return tuple(PublishedScore(dataset, scale, psnr, None, "classic", source) for scale, dataset, psnr in rows)


def _measured(rows) -> tuple[PublishedScore, ...]:
    return tuple(
        PublishedScore(dataset, scale, psnr, ssim, "classic", _MEASURED, "reference") for scale, dataset, psnr, ssim in rows
    )


RLFN = _psnr_only([(4, "Set5", 32.24), (4, "Set14", 28.53), (2, "B100", 32.24)], _ISSUE_19) + _measured([
    (2, "Set5", 38.0656, 0.96066), (2, "Set14", 33.6236, 0.91882),
    (4, "Set5", 32.2379, 0.89527), (4, "Set14", 28.5260, 0.77990),
])
RLFN_S = _psnr_only([(4, "Set5", 32.24), (4, "Set14", 28.53), (2, "B100", 32.21)], _ISSUE_19) + _measured([
    (2, "Set5", 38.0471, 0.96066), (2, "Set14", 33.5280, 0.91686),
    (4, "Set5", 32.2395, 0.89543), (4, "Set14", 28.5289, 0.78018),
])
RLFN_NTIRE = _psnr_only([(4, "Set5", 32.10), (4, "Set14", 28.50)], _ISSUE_19) + _measured([
    (4, "Set5", 32.0973, 0.89387), (4, "Set14", 28.5036, 0.77999),
])
EFDN = _psnr_only([(4, "Set5", 32.08), (4, "Set14", 28.49)], _ISSUE_19) + _measured([
    (4, "Set5", 32.0758, 0.89310), (4, "Set14", 28.4876, 0.77935),
]) + (PublishedScore("DIV2K_LSDIR-val", 4, 26.93, None, "ntire", "NTIRE 2025 ESR kit README (EFDN baseline; methods.md §0.5b)"),)
SPAN = _psnr_only([(4, "Set5", 31.74), (4, "Set14", 28.31)], _ISSUE_19) + _measured([
    (4, "Set5", 31.7359, 0.88931), (4, "Set14", 28.3084, 0.77561),
])
DIPNET_SLIM_V2 = _psnr_only([(4, "Set5", 32.04), (4, "Set14", 28.44)], _ISSUE_19) + _measured([
    (4, "Set5", 32.0395, 0.89331), (4, "Set14", 28.4440, 0.77810),
])

_CSD = "CSD paper Table 1 (IJCAI 2021), EDSR+ with x8 self-ensemble"
EDSR_CSD = _table(
    [
        (2, [(38.31, 0.9617), (34.07, 0.9216), (32.41, 0.9026), (33.17, 0.9375)]),
        (4, [(32.60, 0.9000), (28.91, 0.7893), (27.77, 0.7430), (26.79, 0.8063)]),
    ],
    BENCHMARKS[:4], "classic", _CSD, note="width 1.0 (teacher), CSD-trained, self-ensemble",
) + _table(
    [
        (2, [(38.19, 0.9612), (33.85, 0.9199), (32.29, 0.9012), (32.55, 0.9327)]),
        (4, [(32.34, 0.8974), (28.72, 0.7856), (27.68, 0.7396), (26.34, 0.7948)]),
    ],
    BENCHMARKS[:4], "classic", _CSD, note="width 0.25 (student), CSD-trained, self-ensemble",
)

BICUBIC = (
    PublishedScore("Set5", 2, 33.6734, 0.93029, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 2, 30.2302, 0.86905, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set5", 3, 30.4033, 0.86891, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 3, 27.5367, 0.77447, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set5", 4, 28.4290, 0.81114, "classic", _SCORES_MD, "reference"),
    PublishedScore("Set14", 4, 25.9940, 0.70292, "classic", _SCORES_MD, "reference"),
)
