"""The named models distillsr knows: an explicit table, built on demand.

Each entry maps a name to a constructor with default hyperparameters and the facts a user needs
before building it: scales, input value range, train/deploy form, exact parameter counts, official
weights and published scores with their protocol and source. Nothing is imported or built until
:func:`build_model` asks for it, and there is no scanning of modules: adding a model means adding
one row here. Loading weights into a model is :mod:`distillsr.checkpoints.model_loading`'s job
(``models`` never imports ``checkpoints``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.models import published
from distillsr.models.published import PublishedScore
from distillsr.models.pruned_widths import PRUNED_WIDTHS, apply_widths
from distillsr.models.sr_model import DEFAULT_DTYPES, SRModel


@dataclass(frozen=True)
class OfficialWeights:
    """An official checkpoint file, downloaded by name into the user's cache (size and sha256 checked).

    ``sha256`` and ``size`` were measured on the published files (methods.md §0.5 and §0.5b list
    the same sizes); :mod:`distillsr.checkpoints.official_download` fetches and verifies them, and
    :mod:`distillsr.checkpoints.official.known` recognises a local copy by its sha256.
    """

    filename: str
    scale: int
    url: str
    sha256: str
    size: int
    # hyperparameters of this file beyond the entry's defaults (DDistill-SR's file is the deploy form);
    # the sha256 table of known files (checkpoints.official.known) builds the network from them
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ZooEntry:
    """A named model: how to build it at a scale, and its contract."""

    name: str
    description: str
    factory: Callable[..., nn.Module]  # called as factory(scale=s, **kwargs)
    scales: tuple[int, ...] | None  # None: any integer scale
    defaults: dict = field(default_factory=dict)
    input_range: float = 1.0
    in_channels: int | None = 3
    form: str = "plain"  # "train" (has foldable blocks), "deploy" (folded), or "plain" (nothing to fold)
    params: dict[int, int] = field(default_factory=dict)  # exact counts per scale (official/published)
    widths: tuple[float, ...] | None = None  # slimmable (CSD) models
    min_size: int = 1  # smallest input side (ESA's strided pooling needs 15 px)
    dtypes: tuple[torch.dtype, ...] = DEFAULT_DTYPES  # what it may compute in (autocast included)
    weights: tuple[OfficialWeights, ...] = ()
    published: tuple[PublishedScore, ...] = ()
    source: str = ""

    def supports(self, scale: int) -> bool:
        return self.scales is None or scale in self.scales

    def build(self, scale: int, **overrides) -> nn.Module:
        """The bare network at ``scale`` (hyperparameters: defaults, then ``overrides``).

        ``pruned_widths`` (:data:`PRUNED_WIDTHS`) is not a constructor argument: it narrows the
        built network's layers to a pruned checkpoint's widths, so the state dict loads strictly.
        """
        kwargs = {**self.defaults, **overrides}
        widths = kwargs.pop(PRUNED_WIDTHS, None)
        try:
            network = self.factory(scale=scale, **kwargs)
        except (TypeError, ValueError) as error:
            raise DistillsrError(f"hyperparameters do not fit model {self.name}: {error}") from None
        if widths:
            apply_widths(network, widths, self.name)
        return network


# --- constructors, imported on use so that listing the zoo imports no model code ---------------


def _bicubic(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.bicubic import BicubicUpsampler

    return BicubicUpsampler(scale, **kwargs)


def _rfdn(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.rfdn import RFDN

    return RFDN(scale=scale, **kwargs)


def _imdn(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.imdn import IMDN

    return IMDN(scale=scale, **kwargs)


def _imdn_csd(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.imdn import SlimmableIMDN

    return SlimmableIMDN(scale=scale, **kwargs)


def _ddistill(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.ddistill import DDistillSR

    return DDistillSR(scale=scale, **kwargs)


def _dipnet(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.dipnet import DIPNet

    return DIPNet(scale=scale, **kwargs)


def _rlfn(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.rlfn import RLFN

    return RLFN(scale=scale, **kwargs)


def _efdn(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.efdn import EFDN

    return EFDN(scale=scale, **kwargs)


def _span(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.span import SPAN

    return SPAN(scale=scale, **kwargs)


def _dipnet_slim(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.dipnet_slim import DIPNetSlimV2

    return DIPNetSlimV2(scale=scale, **kwargs)


def _edsr(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.edsr import EDSR

    return EDSR(scale=scale, **kwargs)


def _rcan(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.rcan import RCAN

    return RCAN(scale=scale, **kwargs)


def _carn(scale: int, **kwargs) -> nn.Module:
    from distillsr.models.carn import CARN

    return CARN(scale=scale, **kwargs)


_RFDN_REPO = "https://github.com/njulj/RFDN/raw/7cf4e25/trained_model"
_IMDN_REPO = "https://github.com/Zheng222/IMDN/raw/8f158e6/checkpoints"
_IMDN_DEFAULTS = {"channels": 64, "num_blocks": 6}
_IMDN_PARAMS = {2: 694_404, 3: 703_059, 4: 715_176}  # official files; imdn-csd's full width is the same tensors
_DDISTILL_REPO = "https://github.com/icandle/DDistill-SR/raw/b34bb97/model-backup"
_DIPNET_REPO = "https://github.com/xiumu00/DIPNet/raw"
_RLFN_REPO = "https://github.com/bytedance/RLFN/raw/bccfde9/model_zoo"
_NTIRE2025_KIT = "https://github.com/Amazingren/NTIRE2025_ESR/raw/b69fb66/model_zoo"
_RLFN_DEFAULTS = {"channels": 52, "mid_channels": 52, "esa_channels": 16, "num_blocks": 6}
_RLFN_S_DEFAULTS = {"channels": 48, "mid_channels": 48, "esa_channels": 16, "num_blocks": 6}
_RLFN_NTIRE_DEFAULTS = {"channels": 46, "mid_channels": 48, "esa_channels": 16, "num_blocks": 4}
_SPAN_DEFAULTS = {"channels": 28, "cat_channels": 20, "num_blocks": 6}  # the kit's submission (team46/51)
_DIPNET_SLIM_DEFAULTS = {"channels": 32, "mid_channels": 32, "esa_channels": 16, "num_blocks": 4}
CSD_WIDTHS = (1.0, 0.75, 0.5, 0.25)
ESA_MIN_SIZE = 15  # conv 3 stride 2 then max-pool 7 needs at least 15 input pixels

_ENTRIES = (
    ZooEntry(
        name="bicubic",
        description="MATLAB-compatible bicubic upsampling (the baseline row of SR tables)",
        factory=_bicubic,
        scales=None,
        in_channels=None,
        # a fixed resampling filter, the reference row of every table: reduced precision only blurs the reference
        dtypes=(torch.float32, torch.float64),
        published=published.BICUBIC,
        source="MATLAB imresize",
    ),
    ZooEntry(
        name="e-rfdn",
        description="E-RFDN, AIM 2020 efficient-SR winner: 4 RFDB x 50 ch, ESA, no block residual",
        min_size=ESA_MIN_SIZE,
        factory=_rfdn,
        scales=(2, 3, 4),
        defaults={"channels": 50, "num_blocks": 4, "attention": "esa", "block_residual": False},
        input_range=255.0,
        params={4: 433_448},
        weights=(
            OfficialWeights(
                "RFDN_AIM.pth", 4, f"{_RFDN_REPO}/RFDN_AIM.pth",
                "11af8ec8ebd68689e90ef1e29044f9804c72d3bd9f7573820b7b26035782760c", 1_754_927,
            ),
        ),
        published=published.E_RFDN,
        source="Liu et al., ECCVW 2020; njulj/RFDN",
    ),
    ZooEntry(
        name="rfdn",
        description="RFDN (paper model): 6 RFDB x 48 ch, CCA (r=4), block residual",
        factory=_rfdn,
        scales=(2, 3, 4),
        defaults={"channels": 48, "num_blocks": 6, "attention": "cca", "block_residual": True, "cca_reduction": 4},
        params={2: 534_036, 3: 540_531, 4: 549_624},
        published=published.RFDN,
        source="Liu et al., ECCVW 2020 (Table 3); CCA + residual inferred from the published counts",
    ),
    ZooEntry(
        name="rfdn-l",
        description="RFDN-L: 6 RFDB x 52 ch, CCA (r=4), block residual",
        factory=_rfdn,
        scales=(2, 3, 4),
        defaults={"channels": 52, "num_blocks": 6, "attention": "cca", "block_residual": True, "cca_reduction": 4},
        params={2: 625_962, 3: 632_997, 4: 642_846},
        source="Liu et al., ECCVW 2020; published counts not found (ours are computed)",
    ),
    ZooEntry(
        name="imdn",
        description="IMDN: 6 IMDB x 64 ch with contrast-aware channel attention",
        factory=_imdn,
        scales=(2, 3, 4),
        defaults=dict(_IMDN_DEFAULTS),
        params=dict(_IMDN_PARAMS),
        weights=tuple(
            OfficialWeights(f"IMDN_x{s}.pth", s, f"{_IMDN_REPO}/IMDN_x{s}.pth", sha, size)
            for s, sha, size in (
                (2, "740b39653592bd3f49955a21cd9e16f2d37f2c413368cc09327601b8fbe42ce1", 2_796_052),
                (3, "11b1716a19bc16e5e353e1db798d476169338e631eb170c82d765559888cb028", 2_830_672),
                (4, "e660c38221147217a136debeb99eb304d62d9c0f73ac421ed66281b619719714", 2_879_112),
            )
        ),
        published=published.IMDN,
        source="Hui et al., ACM MM 2019; Zheng222/IMDN",
    ),
    ZooEntry(
        name="imdn-csd",
        description="IMDN (6 IMDB x 64 ch), channel-splitting (CSD): splits and concatenations sliced per member",
        factory=_imdn_csd,
        scales=(2, 3, 4),
        defaults=dict(_IMDN_DEFAULTS),
        params=dict(_IMDN_PARAMS),  # the full width is IMDN, tensor for tensor
        widths=CSD_WIDTHS,
        source="Hui et al., ACM MM 2019 + CSD (Wang et al., IJCAI 2021); an official IMDN file starts it",
    ),
    ZooEntry(
        name="ddistill-sr",
        description="DDistill-SR: DFDB blocks of reparameterized dynamic units (DBB + DCD) with DDF, 56 ch, L=16",
        min_size=ESA_MIN_SIZE,
        factory=_ddistill,
        scales=(2, 3, 4),
        defaults={"channels": 56, "num_blocks": 4, "fusion_rank": 16, "deploy": False},
        form="train",
        params={2: 1_154_824, 3: 1_162_399, 4: 1_173_004},
        weights=(
            OfficialWeights(
                "DDistill-SRx4_inference.pth", 4, f"{_DDISTILL_REPO}/DDistill-SRx4_inference.pth",
                "d0a7a6d99dcfbd8ea605e83354b8c1225bbd6aab6656ca07793df9a7c08db5a4", 2_841_247, {"deploy": True},
            ),
        ),
        published=published.DDISTILL_SR,
        source="Wang et al., IEEE TMM 2023; icandle/DDistill-SR",
    ),
    ZooEntry(
        name="dipnet",
        description="DIPNet (NTIRE 2023 fastest): 4 RRFB, 44 trunk / 38 mid ch, ESA16, bias-free (deploy form)",
        min_size=ESA_MIN_SIZE,
        factory=_dipnet,
        scales=(2, 3, 4),
        defaults={"channels": 44, "mid_channels": 38, "esa_channels": 16, "num_blocks": 4, "bias": False, "block": "plain"},
        form="deploy",
        params={4: 243_252},
        weights=(
            OfficialWeights(
                "DIPNet.pth", 4, f"{_DIPNET_REPO}/69f43a7/model_zoo/DIPNet.pth",
                "7495450802b78cd15f4892851b2479de6605b24f1df1dbbfcaa5227201d61cc1", 991_924,
            ),
        ),
        published=published.DIPNET,
        source="Yu et al., CVPRW 2023; xiumu00/DIPNet",
    ),
    ZooEntry(
        name="edipv1",
        description="EDIPv1: DIPNet's factsheet model, 44 trunk / 32 mid ch, with biases",
        min_size=ESA_MIN_SIZE,
        factory=_dipnet,
        scales=(2, 3, 4),
        defaults={"channels": 44, "mid_channels": 32, "esa_channels": 16, "num_blocks": 4, "bias": True, "block": "plain"},
        form="deploy",
        params={4: 209_260},
        weights=(
            OfficialWeights(
                "EDIPv1.pth", 4, f"{_DIPNET_REPO}/587817b/model_zoo/team34_EDIPv1.pth",
                "e73117a666dc2a82efc1f4d252cf052178fe1026bddad295ea4b285ae60d1dc3", 857_131,
            ),
        ),
        published=published.EDIPV1,
        source="Yu et al., NTIRE 2023 factsheet; xiumu00/DIPNet @587817b",
    ),
    ZooEntry(
        name="dipnet-student",
        description="DIPNet's train-time student: RRRB blocks at 48 ch, folds into the plain 48-ch DIPNet",
        min_size=ESA_MIN_SIZE,
        factory=_dipnet,
        scales=(2, 3, 4),
        defaults={"channels": 48, "mid_channels": 48, "esa_channels": 16, "num_blocks": 4, "bias": False, "block": "rrrb"},
        form="train",
        source="Yu et al., NTIRE 2023 factsheet (RRRB figure)",
    ),
    ZooEntry(
        name="rlfn",
        description="RLFN (NTIRE 2022 runtime winner): 6 RLFB x 52 ch, ESA16, every conv with bias",
        min_size=ESA_MIN_SIZE,
        factory=_rlfn,
        scales=(2, 3, 4),
        defaults=dict(_RLFN_DEFAULTS),
        input_range=255.0,  # bytedance/RLFN test_demo.py feeds uint2tensor4(img) * 255
        params={2: 526_856, 4: 543_740},
        weights=(
            OfficialWeights(
                "rlfn_x2.pth", 2, f"{_RLFN_REPO}/rlfn_x2.pth",
                "eafe5d5feeb122022453595c06d79160facdc157ae88deb02a44c50f5eba2d41", 2_145_309,
            ),
            OfficialWeights(
                "rlfn_x4.pth", 4, f"{_RLFN_REPO}/rlfn_x4.pth",
                "8c7edb57dfc89048bafba29d591d4c27d4099964b4a9e22df23d6dc257a637c0", 2_212_893,
            ),
        ),
        published=published.RLFN,
        source="Kong et al., CVPRW 2022; bytedance/RLFN @bccfde9 (Apache-2.0)",
    ),
    ZooEntry(
        name="rlfn-s",
        description="RLFN-S: 6 RLFB x 48 ch, ESA16, every conv with bias",
        min_size=ESA_MIN_SIZE,
        factory=_rlfn,
        scales=(2, 3, 4),
        defaults=dict(_RLFN_S_DEFAULTS),
        input_range=255.0,
        params={2: 454_620, 4: 470_208},
        weights=(
            OfficialWeights(
                "rlfn_s_x2.pth", 2, f"{_RLFN_REPO}/rlfn_s_x2.pth",
                "f5175f499f869c1b884c2552a1bcd6abd07ab352e3d8c8c9abe31b1deb60fe45", 1_855_005,
            ),
            OfficialWeights(
                "rlfn_s_x4.pth", 4, f"{_RLFN_REPO}/rlfn_s_x4.pth",
                "f769c5a88433786b2db0c2b24da6ca6c92a24c62344b9354a390f8a74388e89d", 1_919_005,
            ),
        ),
        published=published.RLFN_S,
        source="Kong et al., CVPRW 2022; bytedance/RLFN @bccfde9 (Apache-2.0)",
    ),
    ZooEntry(
        name="rlfn-ntire",
        description="RLFN as submitted to NTIRE 2022 (RLFN_Prune): 4 RLFB, 46 trunk / 48 mid ch, ESA16",
        min_size=ESA_MIN_SIZE,
        factory=_rlfn,
        scales=(2, 3, 4),
        defaults=dict(_RLFN_NTIRE_DEFAULTS),
        input_range=255.0,
        params={4: 317_218},
        weights=(
            OfficialWeights(
                "rlfn_ntire_x4.pth", 4, f"{_RLFN_REPO}/rlfn_ntire_x4.pth",
                "3c9be7b9d7a4bece9b68c83a56a1ffb38010f76413d5f215be6b4be842e18fb2", 1_294_011,
            ),
        ),
        published=published.RLFN_NTIRE,
        source="Kong et al., CVPRW 2022 (NTIRE 2022 ByteESR); bytedance/RLFN @bccfde9 (Apache-2.0)",
    ),
    ZooEntry(
        name="efdn",
        description="EFDN (NTIRE 2025/2026 ESR baseline): 4 cells x 48 ch, PReLU, ESA (deploy form)",
        min_size=ESA_MIN_SIZE,
        factory=_efdn,
        scales=(2, 3, 4),
        defaults={"channels": 48, "deploy": True},
        form="deploy",
        params={4: 276_192},
        weights=(
            OfficialWeights(
                "team00_EFDN.pth", 4, f"{_NTIRE2025_KIT}/team00_EFDN.pth",
                "71069f10ef234cd123f45ac8e69099f0a1fdc0c16afcfe2189e50071d47ce477", 1_153_119,
            ),
        ),
        published=published.EFDN,
        source="Wang, CVPRW 2022 (icandle/EFDN); NTIRE 2025 kit Amazingren/NTIRE2025_ESR @b69fb66 (MIT)",
    ),
    ZooEntry(
        name="efdn-train",
        description="EFDN's train form: each cell's two 3x3 convs are edge-enhanced EDBBs, folding into efdn",
        min_size=ESA_MIN_SIZE,
        factory=_efdn,
        scales=(2, 3, 4),
        defaults={"channels": 48, "deploy": False},
        form="train",
        source="Wang, CVPRW 2022 (EDBB as in icandle/EFDN models/unitv2.py, official defaults)",
    ),
    ZooEntry(
        name="span",
        description="SPAN (NTIRE 2024 winner) as in the NTIRE 2025 kit: 6 SPAB x 28 ch, conv_cat to 20 (deploy form)",
        factory=_span,
        scales=(2, 3, 4),
        defaults={**_SPAN_DEFAULTS, "deploy": True},
        form="deploy",
        params={4: 146_328},
        weights=(
            OfficialWeights(
                "team46_span.pth", 4, f"{_NTIRE2025_KIT}/team46_span.pth",
                "b212c077015e97d8ea5b1f279dc3d990ce4c9fdd80c3f829e2b2711562086d7f", 1_200_031,
            ),
        ),
        published=published.SPAN,
        source="Wan et al., CVPRW 2024 (hongyuanyu/SPAN); NTIRE 2025 kit @b69fb66, team46 = team51 (MIT)",
    ),
    ZooEntry(
        name="span-train",
        description="SPAN's train form: every Conv3XC as 1x1-3x3-1x1 plus a 1x1 skip, folding into span",
        factory=_span,
        scales=(2, 3, 4),
        defaults={**_SPAN_DEFAULTS, "deploy": False},
        form="train",
        source="Wan et al., CVPRW 2024 (Conv3XC as in hongyuanyu/SPAN basicsr/archs/span_arch.py)",
    ),
    ZooEntry(
        name="dipnet-slim-v2",
        description="DIPNet-slim-v2 (NTIRE 2025): 4 blocks x 32 ch, SiLU, Conv3XC convs, 1x1 conv_2 (deploy form)",
        min_size=ESA_MIN_SIZE,
        factory=_dipnet_slim,
        scales=(2, 3, 4),
        defaults={**_DIPNET_SLIM_DEFAULTS, "deploy": True},
        form="deploy",
        params={4: 154_336},
        weights=(
            OfficialWeights(
                "team15_DIPNet_slim_v2.pt", 4, f"{_NTIRE2025_KIT}/team15_DIPNet_slim_v2.pt",
                "eca9bfbedfff866eaf4eeea405cdfeeeaa2381ce61d4cf97e476ee6aed1a27a6", 640_386,
            ),
        ),
        published=published.DIPNET_SLIM_V2,
        source="NTIRE 2025 ESR team 15; kit Amazingren/NTIRE2025_ESR @b69fb66 (MIT)",
    ),
    ZooEntry(
        name="dipnet-slim-v2-train",
        description="DIPNet-slim-v2's train form: its Conv3XC convs unfolded, folding into dipnet-slim-v2",
        min_size=ESA_MIN_SIZE,
        factory=_dipnet_slim,
        scales=(2, 3, 4),
        defaults={**_DIPNET_SLIM_DEFAULTS, "deploy": False},
        form="train",
        source="NTIRE 2025 ESR team 15 (Conv3XC train form as in SPAN, biases as in the deploy file)",
    ),
    ZooEntry(
        name="edsr-baseline",
        description="EDSR baseline (16 x 64), channel-splitting (CSD)",
        factory=_edsr,
        scales=(2, 3, 4),
        defaults={"num_blocks": 16, "channels": 64, "res_scale": 1.0},
        input_range=255.0,
        widths=CSD_WIDTHS,
        source="Lim et al., CVPRW 2017; CSD (Wang et al., IJCAI 2021)",
    ),
    ZooEntry(
        name="edsr",
        description="EDSR (32 x 256, res-scale 0.1), channel-splitting (CSD)",
        factory=_edsr,
        scales=(2, 3, 4),
        defaults={"num_blocks": 32, "channels": 256, "res_scale": 0.1},
        input_range=255.0,
        widths=CSD_WIDTHS,
        published=published.EDSR_CSD,
        source="Lim et al., CVPRW 2017; CSD (Wang et al., IJCAI 2021), Booooooooooo/CSD",
    ),
    ZooEntry(
        name="rcan",
        description="RCAN (10 groups x 20 RCAB x 64 ch), channel-splitting (CSD)",
        factory=_rcan,
        scales=(2, 3, 4),
        defaults={},
        input_range=255.0,
        widths=CSD_WIDTHS,
        source="Zhang et al., ECCV 2018; CSD (Wang et al., IJCAI 2021)",
    ),
    ZooEntry(
        name="carn",
        description="CARN (CSD version, 64 ch), channel-splitting (CSD)",
        factory=_carn,
        scales=(2, 3, 4),
        defaults={},
        input_range=255.0,
        widths=CSD_WIDTHS,
        source="Ahn et al., ECCV 2018; CSD (Wang et al., IJCAI 2021)",
    ),
)

ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in _ENTRIES}


def get_entry(name: str, *, also: Sequence[str] = ()) -> ZooEntry:
    """The zoo entry for ``name``, or an error that suggests the nearest names.

    ``also``: other names the caller accepts and handles before asking the zoo (the commands'
    ``builtin``), so the suggestions and the list of known names offer every name that works there.
    """
    key = name.lower()
    if key in ZOO:
        return ZOO[key]
    known = [*also, *ZOO]
    close = difflib.get_close_matches(key, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(known)}"
    raise DistillsrError(f"unknown model {name!r}{hint}")


def check_scale(entry: ZooEntry, scale: object) -> int:
    """``scale`` when it is a positive integer the entry supports; a one-line error otherwise."""
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
    if not entry.supports(scale):
        raise DistillsrError(f"model {entry.name} exists for scales {', '.join(map(str, entry.scales))}, not x{scale}")
    return scale


def build_model(name: str, scale: int, **overrides) -> SRModel:
    """Build a zoo model at ``scale`` with fresh weights as an :class:`SRModel` in eval mode."""
    entry = get_entry(name)
    network = entry.build(check_scale(entry, scale), **overrides)
    return SRModel(
        network=network,
        name=entry.name,
        scale=scale,
        input_range=entry.input_range,
        in_channels=entry.in_channels,
        metadata={"kwargs": {**entry.defaults, **overrides}, "form": entry.form},
        min_size=entry.min_size,
        dtypes=entry.dtypes,
    ).eval()
