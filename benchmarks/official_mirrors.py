"""Eager mirrors of the official networks: the speed baseline, and the reference outputs of the tests.

``benchmarks/cpu_speed.py`` times distillsr against what a user of the official repositories
runs: their model class, NCHW float32, called eagerly. These modules are written for the
benchmark from the official definitions (``njulj/RFDN`` RFDN.py + block.py, ``xiumu00/DIPNet``
models/DIPNet.py, ``icandle/DDistill-SR`` DDistill_SR_Inference_arch.py, ``Zheng222/IMDN``
model/architecture.py + block.py, ``bytedance/RLFN`` @bccfde9 model/rlfn.py, rlfn_s.py,
rlfn_ntire.py + block.py, and the NTIRE 2025 kit ``Amazingren/NTIRE2025_ESR`` @b69fb66
models/team00_EFDN.py, team46_SPAN.py, team15_DIPNet_slim_v2.py), with the same parameter names,
so the official files load with ``strict=True``, and the same sequence of operations, so they cost
what the originals cost. Nothing from distillsr is used here: the baseline must not inherit
distillsr's changes, and the tests that compare distillsr's modules with these on the official
weights (``tests/models/test_rlfn.py``, ``test_efdn.py``, ``test_span.py``, ``test_dipnet_slim.py``)
compare two independent writings of the same network.

Input ranges are the official ones: E-RFDN and the RLFN family take 0-255 (RLFN's ``test_demo.py``
multiplies the 0-1 tensor by 255), the others 0-1 (:data:`INPUT_RANGE`).
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

#: Value range each official network was trained on (the official test scripts feed it).
INPUT_RANGE = {
    "e-rfdn": 255.0, "dipnet": 1.0, "ddistill-sr": 1.0, "imdn": 1.0,
    "rlfn": 255.0, "rlfn-s": 255.0, "rlfn-ntire": 255.0, "efdn": 1.0, "span": 1.0, "dipnet-slim-v2": 1.0,
}

#: The official x4 files, relative to ``shared/weights/official``.
OFFICIAL_FILES = {
    "e-rfdn": "rfdn/RFDN_AIM.pth",
    "dipnet": "dipnet/DIPNet.pth",
    "ddistill-sr": "ddistill_sr/DDistill-SRx4_inference.pth",
    "imdn": "imdn/IMDN_x4.pth",
    "rlfn": "rlfn/rlfn_x4.pth",
    "rlfn-s": "rlfn/rlfn_s_x4.pth",
    "rlfn-ntire": "rlfn/rlfn_ntire_x4.pth",
    "efdn": "ntire2025/team00_EFDN.pth",
    "span": "ntire2025/team46_span.pth",
    "dipnet-slim-v2": "ntire2025/team15_DIPNet_slim_v2.pt",
}


def _conv(cin: int, cout: int, k: int, *, bias: bool = True, stride: int = 1) -> nn.Conv2d:
    """A "same"-padded convolution, as every official ``conv_layer`` helper builds it."""
    return nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2, bias=bias)


def _lrelu(slope: float = 0.05) -> nn.LeakyReLU:
    return nn.LeakyReLU(slope, inplace=True)


class ESA(nn.Module):
    """Enhanced spatial attention; ``full`` is RFDN/DDistill-SR's, otherwise DIPNet's (RLFN) lighter one."""

    def __init__(self, channels: int, f: int, *, full: bool = True) -> None:
        super().__init__()
        self.full = full
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        if full:
            self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        if full:
            self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        pooled = F.max_pool2d(self.conv2(c1_), kernel_size=7, stride=3)
        if self.full:
            c3 = self.conv3_(F.relu(self.conv3(F.relu(self.conv_max(pooled)))))
        else:
            c3 = self.conv3(pooled)
        c3 = F.interpolate(c3, (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


def _upsampler(channels: int, scale: int, *, bias: bool = True) -> nn.Sequential:
    return nn.Sequential(_conv(channels, 3 * scale * scale, 3, bias=bias), nn.PixelShuffle(scale))


# --- E-RFDN (njulj/RFDN) --------------------------------------------------------------------------


class RFDB(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        dc = c // 2
        self.c1_d, self.c1_r = _conv(c, dc, 1), _conv(c, c, 3)
        self.c2_d, self.c2_r = _conv(c, dc, 1), _conv(c, c, 3)
        self.c3_d, self.c3_r = _conv(c, dc, 1), _conv(c, c, 3)
        self.c4 = _conv(c, dc, 3)
        self.act = _lrelu()
        self.c5 = _conv(4 * dc, c, 1)
        self.esa = ESA(c, c // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.act(self.c1_d(x))
        r1 = self.act(self.c1_r(x) + x)
        d2 = self.act(self.c2_d(r1))
        r2 = self.act(self.c2_r(r1) + r1)
        d3 = self.act(self.c3_d(r2))
        r3 = self.act(self.c3_r(r2) + r2)
        r4 = self.act(self.c4(r3))
        return self.esa(self.c5(torch.cat([d1, d2, d3, r4], dim=1)))


class RFDN(nn.Module):
    """``RFDN()`` with its defaults: 4 RFDB x 50 channels, x4 (the E-RFDN of ``RFDN_AIM.pth``)."""

    def __init__(self, nf: int = 50) -> None:
        super().__init__()
        self.fea_conv = _conv(3, nf, 3)
        self.B1, self.B2, self.B3, self.B4 = (RFDB(nf) for _ in range(4))
        self.c = nn.Sequential(_conv(4 * nf, nf, 1), _lrelu())
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = _upsampler(nf, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        b1 = self.B1(fea)
        b2 = self.B2(b1)
        b3 = self.B3(b2)
        b4 = self.B4(b3)
        out = self.c(torch.cat([b1, b2, b3, b4], dim=1))
        return self.upsampler(self.LR_conv(out) + fea)


# --- DIPNet (xiumu00/DIPNet) -----------------------------------------------------------------------


class RRFB(nn.Module):
    def __init__(self, c: int, mid: int, esa: int) -> None:
        super().__init__()
        self.c1_r = _conv(c, mid, 3, bias=False)
        self.c2_r = _conv(mid, mid, 3, bias=False)
        self.c3_r = _conv(mid, c, 3, bias=False)
        self.c5 = _conv(c, c, 1, bias=False)
        self.esa = ESA(c, esa, full=False)
        self.act = _lrelu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        return self.esa(self.c5(out + x))


class DIPNet(nn.Module):
    """``DIPNet()`` with its defaults: 4 RRFB, 44 trunk / 38 mid channels, ESA16, bias-free convs."""

    def __init__(self, nf: int = 44, mid: int = 38) -> None:
        super().__init__()
        self.conv_1 = _conv(3, nf, 3, bias=False)
        self.block_1, self.block_2, self.block_3, self.block_4 = (RRFB(nf, mid, 16) for _ in range(4))
        self.conv_2 = _conv(nf, nf, 3, bias=False)
        self.upsampler = _upsampler(nf, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.conv_1(x)
        out = self.block_4(self.block_3(self.block_2(self.block_1(fea))))
        return self.upsampler(self.conv_2(out) + fea)


# --- DDistill-SR (icandle/DDistill-SR, deploy form) ------------------------------------------------


class _Hsigmoid(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x + 3.0) / 3.0


class _SESmall(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c, c, bias=False), _Hsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class DynamicBranch(nn.Module):
    """DCD branch: a per-image channel scale and a low-rank dynamic residual ``P (I + Phi) Q x``."""

    def __init__(self, cin: int, cout: int, dim: int | None) -> None:
        super().__init__()
        self.dim = dim if dim is not None else int(math.sqrt(cin))
        squeeze = max(cin, self.dim**2) // 16
        self.q = nn.Conv2d(cin, self.dim, 1, bias=False)
        self.p = nn.Conv2d(self.dim, cout, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.dim)
        self.bn2 = nn.BatchNorm1d(self.dim)
        self.fc = nn.Sequential(nn.Linear(cin, squeeze, bias=False), _SESmall(squeeze))
        self.fc_phi = nn.Linear(squeeze, self.dim**2, bias=False)
        self.fc_scale = nn.Linear(squeeze, cout, bias=False)
        self.hs = _Hsigmoid()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c = x.shape[:2]
        y = self.fc(F.adaptive_avg_pool2d(x, 1).view(b, c))
        phi = self.fc_phi(y).view(b, self.dim, self.dim)
        scale = self.hs(self.fc_scale(y)).view(b, -1, 1, 1)
        res = self.bn1(self.q(x))
        h, w = res.shape[2:]
        res = res.view(b, self.dim, -1)
        res = self.bn2(torch.matmul(phi, res)) + res
        return scale, self.p(res.view(b, -1, h, w))


class _DDBBDeploy(nn.Module):
    """``DynamicDiverseBranchBlock`` after ``switch_to_deploy``: folded 3x3 + dynamic branch."""

    def __init__(self, cin: int, cout: int, dim: int | None, act: nn.Module | None) -> None:
        super().__init__()
        self.nonlinear = act if act is not None else nn.Identity()
        self.dy_branch = DynamicBranch(cin, cout, dim)
        self.dbb_reparam = nn.Conv2d(cin, cout, 3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, res = self.dy_branch(x)
        out = self.dbb_reparam(x)
        return self.nonlinear(scale.expand_as(out) * out + res), res


class RDU(nn.Module):
    """The official ``Unit`` wrapper (keys ``<name>.unit.*``)."""

    def __init__(self, cin: int, cout: int, dim: int | None, act: nn.Module | None = None) -> None:
        super().__init__()
        self.unit = _DDBBDeploy(cin, cout, dim, act)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.unit(x)


class DFDB(nn.Module):
    def __init__(self, c: int, dim: int | None) -> None:
        super().__init__()
        dc = c // 2
        self.act = _lrelu()
        self.c1_d, self.c1_r = _conv(c, dc, 1), RDU(c, c, dim, self.act)
        self.c2_d, self.c2_r = _conv(c, dc, 1), RDU(c, c, dim, self.act)
        self.c3_d, self.c3_r = _conv(c, dc, 1), RDU(c, c, dim, self.act)
        self.c4 = _conv(c, dc, 1)
        self.c5 = _conv(4 * dc, c, 1)
        self.PAconv = nn.Conv2d(c, c, 1)
        self.conv1x1 = _conv(4 * c, c, 1)
        self.esa = ESA(c, c // 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d1 = self.act(self.c1_d(x))
        r1, res1 = self.c1_r(x)
        d2 = self.act(self.c2_d(r1))
        r2, res2 = self.c2_r(r1)
        d3 = self.act(self.c3_d(r2))
        r3, res3 = self.c3_r(r2)
        fused = self.c5(torch.cat((d1, d2, d3, self.c4(r3)), dim=1))
        res = torch.sigmoid(self.PAconv(fused)) * self.conv1x1(torch.cat((x, res1, res2, res3), dim=1))
        return self.esa(fused + res), res


class DDistillSR(nn.Module):
    """``DDistill_SR_Inference(nf=56, num_modules=4, scale=4, deploy=True, dynamic=True, L=16, style='DBB')``."""

    def __init__(self, nf: int = 56, dim: int = 16) -> None:
        super().__init__()
        self.fea_conv = _conv(3, nf, 3)
        self.B1, self.B2, self.B3, self.B4 = (DFDB(nf, dim) for _ in range(4))
        self.PAconv = nn.Conv2d(nf, nf, 1)
        self.cres = nn.Sequential(_conv(4 * nf, nf, 1), nn.LeakyReLU(0.1, inplace=True))
        self.c = nn.Sequential(_conv(4 * nf, nf, 1), nn.LeakyReLU(0.1, inplace=True))
        self.LR_conv = RDU(nf, nf, dim)
        self.upsamplerx4 = nn.Sequential(_conv(nf, 48, 3), nn.PixelShuffle(4), _conv(3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        b1, res1 = self.B1(fea)
        b2, res2 = self.B2(b1)
        b3, res3 = self.B3(b2)
        b4, res4 = self.B4(b3)
        out_res = self.cres(torch.cat([res1, res2, res3, res4], dim=1))
        out_b = self.c(torch.cat([b1, b2, b3, b4], dim=1))
        out_res = torch.sigmoid(self.PAconv(out_b)) * out_res
        lr, _ = self.LR_conv(out_b + out_res)
        return self.upsamplerx4(lr + fea).clamp(0, 1)


# --- IMDN (Zheng222/IMDN) ----------------------------------------------------------------------------


class CCALayer(nn.Module):
    """Contrast-aware channel attention: (std + mean) per channel -> squeeze-excite gate."""

    def __init__(self, c: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(c, c // reduction, 1), nn.ReLU(inplace=True), nn.Conv2d(c // reduction, c, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x.size(2) * x.size(3)
        mean = x.sum(3, keepdim=True).sum(2, keepdim=True) / pixels
        std = ((x - mean).pow(2).sum(3, keepdim=True).sum(2, keepdim=True) / pixels).pow(0.5)
        return x * self.conv_du(std + F.adaptive_avg_pool2d(x, 1))


class IMDModule(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.d = c // 4
        self.r = c - self.d
        self.c1 = _conv(c, c, 3)
        self.c2 = _conv(self.r, c, 3)
        self.c3 = _conv(self.r, c, 3)
        self.c4 = _conv(self.r, self.d, 3)
        self.act = _lrelu()
        self.c5 = _conv(c, c, 1)
        self.cca = CCALayer(4 * self.d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1, r1 = torch.split(self.act(self.c1(x)), (self.d, self.r), dim=1)
        d2, r2 = torch.split(self.act(self.c2(r1)), (self.d, self.r), dim=1)
        d3, r3 = torch.split(self.act(self.c3(r2)), (self.d, self.r), dim=1)
        out = torch.cat([d1, d2, d3, self.c4(r3)], dim=1)
        return self.c5(self.cca(out)) + x


class IMDN(nn.Module):
    """``IMDN(upscale=4)``: 6 IMDB x 64 channels."""

    def __init__(self, nf: int = 64, blocks: int = 6, scale: int = 4) -> None:
        super().__init__()
        self.fea_conv = _conv(3, nf, 3)
        for i in range(1, blocks + 1):
            setattr(self, f"IMDB{i}", IMDModule(nf))
        self.blocks = blocks
        self.c = nn.Sequential(_conv(nf * blocks, nf, 1), _lrelu())
        self.LR_conv = _conv(nf, nf, 3)
        self.upsampler = _upsampler(nf, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = out = self.fea_conv(x)
        outs = []
        for i in range(1, self.blocks + 1):
            out = getattr(self, f"IMDB{i}")(out)
            outs.append(out)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea)


# --- RLFN (bytedance/RLFN: RLFN, RLFN_S, RLFN_Prune) ---------------------------------------------


class RLFB(nn.Module):
    """``block.RLFB``: three 3x3 convs + LeakyReLU(0.05), residual, 1x1, the light ESA; all with bias."""

    def __init__(self, c: int, mid: int | None = None, esa: int = 16) -> None:
        super().__init__()
        mid = c if mid is None else mid
        self.c1_r = _conv(c, mid, 3)
        self.c2_r = _conv(mid, mid, 3)
        self.c3_r = _conv(mid, c, 3)
        self.c5 = _conv(c, c, 1)
        self.esa = ESA(c, esa, full=False)
        self.act = _lrelu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        return self.esa(self.c5(out + x))


class RLFN(nn.Module):
    """``RLFN`` (52 ch, 6 blocks), ``RLFN_S`` (48 ch) and ``RLFN_Prune`` (46 ch, mid 48, 4 blocks)."""

    def __init__(self, feature_channels: int = 52, mid_channels: int | None = None, blocks: int = 6, upscale: int = 4) -> None:
        super().__init__()
        self.conv_1 = _conv(3, feature_channels, 3)
        self.blocks = blocks
        for i in range(1, blocks + 1):
            setattr(self, f"block_{i}", RLFB(feature_channels, mid_channels))
        self.conv_2 = _conv(feature_channels, feature_channels, 3)
        self.upsampler = _upsampler(feature_channels, upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_feature = out = self.conv_1(x)
        for i in range(1, self.blocks + 1):
            out = getattr(self, f"block_{i}")(out)
        return self.upsampler(self.conv_2(out) + out_feature)


# --- EFDN (NTIRE 2025 kit, models/team00_EFDN.py: the deploy-form baseline) -----------------------


class _Conv1x1PReLU(nn.Module):
    """The kit's ``conv``: 1x1 + PReLU."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.conv1x1 = nn.Conv2d(n, n, 1, 1, 0)
        self.act = nn.PReLU(num_parameters=n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv1x1(x))


class EDBBDeploy(nn.Module):
    """``EDBB_deploy``: the folded 3x3 + PReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.rep_conv = nn.Conv2d(cin, cout, 3, 1, 1, bias=True)
        self.act = nn.PReLU(num_parameters=cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.rep_conv(x))


class EFDNCell(nn.Module):
    def __init__(self, n: int = 48) -> None:
        super().__init__()
        self.conv1 = _Conv1x1PReLU(n)
        self.conv2 = EDBBDeploy(n, n)
        self.conv3 = EDBBDeploy(n, n)
        self.fuse = nn.Conv2d(n * 2, n, 1, 1, 0)
        self.att = ESA(n, n // 4)
        self.branch = nn.ModuleList([nn.Conv2d(n, n // 2, 1, 1, 0) for _ in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        out = self.fuse(torch.cat([self.branch[0](x), self.branch[1](out1), self.branch[2](out2), self.branch[3](out3)], dim=1))
        out = self.att(out)
        out += x
        return out


class EFDN(nn.Module):
    """``EFDN()``: 48 channels, four cells, x4; the output is clamped to [0, 1]."""

    def __init__(self, scale: int = 4, in_channels: int = 3, n_feats: int = 48, out_channels: int = 3) -> None:
        super().__init__()
        self.head = nn.Conv2d(in_channels, n_feats, 3, 1, 1)
        self.cells = nn.ModuleList([EFDNCell(n_feats) for _ in range(4)])
        self.local_fuse = nn.ModuleList([nn.Conv2d(n_feats * 2, n_feats, 1, 1, 0) for _ in range(3)])
        self.tail = nn.Sequential(nn.Conv2d(n_feats, out_channels * scale**2, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out0 = self.head(x)
        out1 = self.cells[0](out0)
        out2 = self.cells[1](out1)
        out2_fuse = self.local_fuse[0](torch.cat([out1, out2], dim=1))
        out3 = self.cells[2](out2_fuse)
        out3_fuse = self.local_fuse[1](torch.cat([out2, out3], dim=1))
        out4 = self.cells[3](out3_fuse)
        out4_fuse = self.local_fuse[2](torch.cat([out2, out4], dim=1))
        return self.tail(out4_fuse + out0).clamp(0, 1)


# --- SPAN (NTIRE 2025 kit, models/team46_SPAN.py: deploy-form Conv3XC) ------------------------------


class Conv3XCDeploy(nn.Module):
    """The kit's ``Conv3XC``: only the folded ``eval_conv`` is kept."""

    def __init__(self, cin: int, cout: int, *, bias: bool = True) -> None:
        super().__init__()
        self.eval_conv = nn.Conv2d(cin, cout, 3, padding=1, stride=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.eval_conv(x)


class SPAB(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1_r = Conv3XCDeploy(c, c)
        self.c2_r = Conv3XCDeploy(c, c)
        self.c3_r = Conv3XCDeploy(c, c)
        self.act1 = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out1 = self.c1_r(x)
        out2 = self.c2_r(self.act1(out1))
        out3 = self.c3_r(self.act1(out2))
        sim_att = torch.sigmoid(out3) - 0.5
        return (out3 + x) * sim_att, out1, sim_att


class SPAN(nn.Module):
    """``SPAN(3, 3, upscale=4, feature_channels=28)`` as submitted: ``conv_cat`` is hard-coded to 20 outputs."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, feature_channels: int = 28, upscale: int = 4,
                 img_range: float = 255.0, rgb_mean: tuple[float, float, float] = (0.4488, 0.4371, 0.4040)) -> None:
        super().__init__()
        self.img_range = img_range
        self.mean = torch.Tensor(rgb_mean).view(1, 3, 1, 1)
        self.conv_1 = Conv3XCDeploy(num_in_ch, feature_channels)
        self.block_1, self.block_2, self.block_3, self.block_4, self.block_5, self.block_6 = (
            SPAB(feature_channels) for _ in range(6)
        )
        self.conv_cat = _conv(feature_channels * 4, 20, 1)
        self.conv_2 = Conv3XCDeploy(feature_channels, feature_channels)
        self.upsampler = _upsampler(20, upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.mean = self.mean.type_as(x)
        x = (x - self.mean) * self.img_range
        out_feature = self.conv_1(x)
        out_b1, _, _ = self.block_1(out_feature)
        out_b2, _, _ = self.block_2(out_b1)
        out_b3, _, _ = self.block_3(out_b2)
        out_b4, _, _ = self.block_4(out_b3)
        out_b5, _, _ = self.block_5(out_b4)
        out_b6, out_b5_2, _ = self.block_6(out_b5)
        out_final = self.conv_2(out_b6)
        out = self.conv_cat(torch.cat([out_feature, out_final, out_b1, out_b5_2], 1))
        return self.upsampler(out)


# --- DIPNet-slim-v2 (NTIRE 2025 kit, models/team15_DIPNet_slim_v2.py) ------------------------------


class SlimESA(nn.Module):
    """The light ESA with its ``conv3`` a (bias-carrying) Conv3XC."""

    def __init__(self, f: int, n: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(n, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = Conv3XCDeploy(f, f, bias=True)
        self.conv4 = nn.Conv2d(f, n, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1_ = self.conv1(x)
        v_max = F.max_pool2d(self.conv2(c1_), kernel_size=7, stride=3)
        c3 = F.interpolate(self.conv3(v_max), (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class RRFBRep1(nn.Module):
    def __init__(self, c: int, mid: int = 32, esa: int = 16) -> None:
        super().__init__()
        self.c1_r = Conv3XCDeploy(c, mid, bias=False)
        self.c2_r = Conv3XCDeploy(mid, mid, bias=False)
        self.c3_r = Conv3XCDeploy(mid, c, bias=False)
        self.c5 = _conv(c, c, 1, bias=False)
        self.esa = SlimESA(esa, c)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        return self.esa(self.c5(out + x))


class DIPNetSlimV2(nn.Module):
    """``DIPNet_slim_v2(3, 3, upscale=4, feature_channels=32)`` (without the official constructor's CUDA warm-up)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, feature_channels: int = 32, upscale: int = 4) -> None:
        super().__init__()
        self.conv_1 = Conv3XCDeploy(in_channels, feature_channels, bias=False)
        self.block_1, self.block_2, self.block_3, self.block_4 = (RRFBRep1(feature_channels, 32) for _ in range(4))
        self.conv_2 = _conv(feature_channels, feature_channels, 1, bias=False)
        self.upsampler = nn.Sequential(
            Conv3XCDeploy(feature_channels, out_channels * upscale**2, bias=False), nn.PixelShuffle(upscale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_feature = self.conv_1(x)
        out = self.block_4(self.block_3(self.block_2(self.block_1(out_feature))))
        return self.upsampler(self.conv_2(out) + out_feature)


#: Zoo name -> the official class; keyword arguments (``upscale``/``scale``) pass through :func:`build_mirror`.
BUILDERS = {
    "e-rfdn": RFDN,
    "dipnet": DIPNet,
    "ddistill-sr": DDistillSR,
    "imdn": IMDN,
    "rlfn": lambda **kw: RLFN(52, **kw),
    "rlfn-s": lambda **kw: RLFN(48, **kw),
    "rlfn-ntire": lambda **kw: RLFN(46, 48, 4, **kw),
    "efdn": EFDN,
    "span": lambda **kw: SPAN(3, 3, feature_channels=28, **kw),
    "dipnet-slim-v2": lambda **kw: DIPNetSlimV2(3, 3, feature_channels=32, **kw),
}


def official_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of an official file: unwrapped from ``{"state_dict": ...}`` / ``{"params": ...}``, ``module.`` stripped."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("params_ema", "params", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    return {(k.removeprefix("module.")): v for k, v in state.items()}


def build_mirror(name: str, path: str | os.PathLike[str], **kwargs) -> nn.Module:
    """The official network ``name`` with the weights of ``path``, loaded strictly, in eval mode.

    ``kwargs`` go to the official constructor (``upscale=2`` for the RLFN x2 files).
    """
    network = BUILDERS[name](**kwargs)
    network.load_state_dict(official_state_dict(path), strict=True)
    return network.eval()


def official_style_upscale(network: nn.Module, input_range: float, source: str, target: str) -> None:
    """What the official test scripts do with one image: read, forward, clamp, round, write a PNG."""
    import numpy as np
    from PIL import Image

    pixels = np.array(Image.open(source).convert("RGB"))
    x = torch.from_numpy(pixels).permute(2, 0, 1).float().unsqueeze(0) * (input_range / 255.0)
    with torch.no_grad():
        y = network(x)
    y = (y / input_range).clamp(0, 1).mul(255.0).round().byte()[0].permute(1, 2, 0).numpy()
    Image.fromarray(y).save(target)


if __name__ == "__main__":  # the official-style script timed as a whole process by cpu_speed.py
    import sys

    name, weights, source, target, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    official_style_upscale(build_mirror(name, weights), INPUT_RANGE[name], source, target)
