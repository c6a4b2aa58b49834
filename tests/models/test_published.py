"""distillsr.models.published: every row agrees with the shared reference documents it cites.

"reference" rows are the official checkpoints' scores in ``shared/reference/scores.md``;
"published" rows are the papers' tables as transcribed in ``shared/reference/methods.md``. The
documents are parsed here, so a typo in either the table or the module fails this test.
"""

from __future__ import annotations

import re

import pytest
from support import require_shared

from distillsr.models import published
from distillsr.models.published import BENCHMARKS, PublishedScore
from distillsr.models.zoo import ZOO

ALL_TABLES = {
    "RFDN": published.RFDN,
    "IMDN": published.IMDN,
    "E_RFDN": published.E_RFDN,
    "DDISTILL_SR": published.DDISTILL_SR,
    "DIPNET": published.DIPNET,
    "EDIPV1": published.EDIPV1,
    "EDSR_CSD": published.EDSR_CSD,
    "BICUBIC": published.BICUBIC,
    "RLFN": published.RLFN,
    "RLFN_S": published.RLFN_S,
    "RLFN_NTIRE": published.RLFN_NTIRE,
    "EFDN": published.EFDN,
    "SPAN": published.SPAN,
    "DIPNET_SLIM_V2": published.DIPNET_SLIM_V2,
}
# Issue 19's table of the yardsticks' published PSNR (classic protocol), (scale, dataset) -> dB.
ISSUE_19 = {
    "RLFN": {(4, "Set5"): 32.24, (4, "Set14"): 28.53, (2, "B100"): 32.24},
    "RLFN_S": {(4, "Set5"): 32.24, (4, "Set14"): 28.53, (2, "B100"): 32.21},
    "RLFN_NTIRE": {(4, "Set5"): 32.10, (4, "Set14"): 28.50},
    "EFDN": {(4, "Set5"): 32.08, (4, "Set14"): 28.49},
    "SPAN": {(4, "Set5"): 31.74, (4, "Set14"): 28.31},
    "DIPNET_SLIM_V2": {(4, "Set5"): 32.04, (4, "Set14"): 28.44},
}
# scores.md names its rows by model; the table of each.
SCORES_MD_MODELS = {
    "bicubic": "BICUBIC",
    "E-RFDN": "E_RFDN",
    "DDistill-SR": "DDISTILL_SR",
    "DIPNet": "DIPNET",
    "IMDN": "IMDN",
}
_SCORE = re.compile(r"(\d+\.\d+)\s*/\s*(\d+\.\d+)")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _reference_scores() -> dict[tuple[str, int, str], tuple[float, float]]:
    """(model, scale, dataset) -> (PSNR, SSIM) from both tables of scores.md."""
    text = require_shared("reference", "scores.md").read_text()
    found = {}
    for line in text.splitlines():
        if not line.startswith("|") or "---" in line or "model" in line:
            continue
        cells = _cells(line)
        if len(cells) == 4:  # x4 table: model | weights | Set5 | Set14
            model, scale, set5, set14 = cells[0], 4, cells[2], cells[3]
        else:  # x2/x3 table: model | weights | scale | Set5 | Set14
            model, scale, set5, set14 = cells[0], int(cells[2]), cells[3], cells[4]
        for dataset, cell in (("Set5", set5), ("Set14", set14)):
            psnr, ssim = _SCORE.fullmatch(cell).groups()
            found[(model, scale, dataset)] = (float(psnr), float(ssim))
    return found


def _methods_table(heading: str) -> dict[tuple[int, str], tuple[float, float]]:
    """(scale, dataset) -> (PSNR, SSIM) of the first ``| scale | params | Set5 ...`` table after ``heading``."""
    text = require_shared("reference", "methods.md").read_text()
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| scale | params |"))
    datasets = _cells(lines[start])[2:]
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        for dataset, cell in zip(datasets, cells[2:]):
            psnr, ssim = _SCORE.fullmatch(cell).groups()
            table[(int(cells[0].lstrip("x")), dataset)] = (float(psnr), float(ssim))
    return table


def _rows(table, kind: str) -> dict[tuple[int, str], tuple[float, float | None]]:
    return {(s.scale, s.dataset): (s.psnr, s.ssim) for s in table if s.kind == kind}


def test_reference_rows_are_exactly_scores_md():
    reference = _reference_scores()
    assert len(reference) == 2 * 9  # 9 model/scale rows in scores.md
    ours = {}
    for model, table_name in SCORES_MD_MODELS.items():
        for s in ALL_TABLES[table_name]:
            if s.kind == "reference":
                ours[(model, s.scale, s.dataset)] = (s.psnr, s.ssim)
    assert ours == reference


def test_every_reference_row_is_classic_and_cites_how_it_was_measured():
    for name, table in ALL_TABLES.items():
        for s in table:
            if s.kind == "reference":
                cited = "distillsr eval" in s.source if name in ISSUE_19 else "shared/reference/scores.md" in s.source
                assert s.protocol == "classic" and s.ssim is not None and cited, (name, s)


@pytest.mark.parametrize("name", sorted(ISSUE_19))
def test_yardstick_rows_are_issue_19s_and_the_official_files_reproduce_them(name):
    table = ALL_TABLES[name]
    classic = [s for s in table if s.protocol == "classic"]
    assert {key: psnr for key, (psnr, _) in _rows(classic, "published").items()} == ISSUE_19[name]
    assert all(s.ssim is None for s in classic if s.kind == "published")
    assert [s.dataset for s in table if s.protocol == "ntire"] == (["DIV2K_LSDIR-val"] if name == "EFDN" else [])
    measured = _rows(table, "reference")
    assert {(4, "Set5"), (4, "Set14")} <= set(measured)
    for key, (psnr, _) in measured.items():
        if key in ISSUE_19[name]:  # printed to two decimals: the official file scores what was printed
            assert abs(psnr - ISSUE_19[name][key]) <= 0.005, (name, key, psnr)


@pytest.mark.parametrize("name,heading", [("RFDN", "### 1.3 Published accuracy"), ("IMDN", "### 5.3 Published accuracy")])
def test_paper_rows_are_the_transcribed_tables(name, heading):
    expected = _methods_table(heading)
    assert len(expected) == 15  # x2, x3, x4 on five benchmarks
    assert _rows(ALL_TABLES[name], "published") == expected


def test_ddistill_rows_are_the_third_party_table():
    text = require_shared("reference", "methods.md").read_text()
    listed = re.search(r"DDistill-SR\s+x4: .*?Manga109 \d+\.\d+/\d+\.\d+", text, re.DOTALL).group(0)
    expected = {(4, d): (float(p), float(s)) for d, p, s in re.findall(r"(Set5|Set14|B100|Urban100|Manga109)\s+(\d+\.\d+)/(\d+\.\d+)", listed)}
    assert len(expected) == 5
    assert _rows(published.DDISTILL_SR, "published") == expected
    assert all("differs slightly" in s.note for s in published.DDISTILL_SR if s.kind == "published")


def test_csd_rows_are_the_csd_rows_of_table_1():
    text = require_shared("reference", "methods.md").read_text()
    expected: dict[str, dict] = {"1.0": {}, "0.25": {}}
    for line in text.splitlines():
        cells = _cells(line) if line.startswith(("| S |", "| T |")) else []
        if cells and cells[1] == "**CSD**":
            width = "1.0" if cells[0] == "T" else "0.25"
            scale = int(cells[2].lstrip("x"))
            for dataset, cell in zip(("Set5", "Set14", "B100", "Urban100"), cells[4:]):
                psnr, ssim = _SCORE.fullmatch(cell.replace("/", " / ")).groups()
                expected[width][(scale, dataset)] = (float(psnr), float(ssim))
    for width, rows in expected.items():
        ours = {(s.scale, s.dataset): (s.psnr, s.ssim) for s in published.EDSR_CSD if s.note.startswith(f"width {width}")}
        assert len(rows) == 8 and ours == rows, width


def test_challenge_rows_are_ntire_rgb_without_ssim():
    for s in published.E_RFDN + published.DIPNET + published.EDIPV1:
        if s.dataset == "DIV2K-val":
            assert s.protocol == "ntire" and s.ssim is None and s.kind == "published"
    assert [s.psnr for s in published.E_RFDN + published.DIPNET + published.EDIPV1 if s.dataset == "DIV2K-val"] == [
        29.04, 29.04, 29.00,
    ]


def test_tables_are_well_formed():
    assert BENCHMARKS == ("Set5", "Set14", "B100", "Urban100", "Manga109")
    for table in ALL_TABLES.values():
        keys = [(s.dataset, s.scale, s.kind, s.note) for s in table]
        assert len(keys) == len(set(keys)), "no row twice"
        for s in table:
            assert isinstance(s, PublishedScore)
            assert s.protocol in ("classic", "ntire") and s.kind in ("published", "reference") and s.source
            assert 20 < s.psnr < 45 and (s.ssim is None or 0.5 < s.ssim < 1)


def test_each_table_belongs_to_a_zoo_entry():
    attached = {id(entry.published) for entry in ZOO.values()}
    for name, table in ALL_TABLES.items():
        assert id(table) in attached, name


def test_rows_are_frozen():
    with pytest.raises(AttributeError):
        published.IMDN[0].psnr = 40.0  # type: ignore[misc]
