"""`distillsr zoo`: the options reach the table, the table goes to stdout, bad names are one line."""

from __future__ import annotations

from distillsr.cli import main


def _rows(text: str) -> dict[str, list[str]]:
    """Model rows by name (the first word of a line that is not a header, rule, note or footer)."""
    names = {"bicubic", "e-rfdn", "rfdn", "rfdn-l", "imdn", "dipnet", "edipv1", "edsr-baseline"}
    return {line.split()[0]: line.split() for line in text.splitlines() if line and line.split()[0] in names}


def test_named_model_without_macs(capsys):
    assert main(["zoo", "rfdn", "--no-macs"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    rows = _rows(captured.out)
    assert list(rows) == ["rfdn"]
    # 549,624 = the published 550K (methods.md §1.3), counted from the official class; MACs skipped
    assert rows["rfdn"][:6] == ["rfdn", "2,3,4", "plain", "1", "549,624", "-"]
    assert "published / reference (x4)" in captured.out


def test_scale_option_changes_the_counted_scale(capsys):
    assert main(["zoo", "imdn", "rfdn", "-s", "2", "--no-macs"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert list(rows) == ["imdn", "rfdn"], "the order asked for"
    assert rows["imdn"][4] == "694,404" and rows["rfdn"][4] == "534,036"  # the published 694K / 534K
    assert "(x2)" in out


def test_macs_are_counted_by_default(capsys):
    assert main(["zoo", "dipnet"]) == 0
    gmacs = float(_rows(capsys.readouterr().out)["dipnet"][5])
    assert abs(gmacs - 14.90) < 0.05  # NTIRE 2023 report: DIPNet 14.90 G at 3x256x256


def test_unsupported_scale_is_a_row_not_an_error(capsys):
    assert main(["zoo", "imdn", "bicubic", "-s", "8", "--no-macs"]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["imdn"] == ["imdn", "2,3,4", "(no", "x8)"]
    assert _rows(out)["bicubic"][:5] == ["bicubic", "any", "plain", "1", "0"]


def test_unknown_model_is_one_line_with_a_suggestion(capsys):
    assert main(["zoo", "dipnett", "--no-macs"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "unknown model 'dipnett'; did you mean dipnet" in captured.err


def test_the_listing_starts_with_the_built_in_model_and_shows_the_weights(capsys, tmp_path, monkeypatch):
    """`distillsr zoo`: builtin first, then the zoo with where each official file stands; nothing fetched."""
    import urllib.request

    from support.downloads import refusing_opener

    monkeypatch.setattr(urllib.request, "urlopen", refusing_opener)
    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path / "home"))
    assert main(["zoo", "--no-macs"]) == 0
    out = capsys.readouterr().out
    header, _, first, *_ = out.splitlines()
    from distillsr.checkpoints.builtin import builtin_card, builtin_scales

    scales = ",".join(map(str, builtin_scales()))
    assert header.split()[6] == "weights" and first.split()[:2] == ["builtin", scales]
    set5 = next(s for s in builtin_card(4)["scores"] if s["dataset"] == "Set5")
    assert "shipped" in first and f"Set5 {set5['psnr']:.2f}" in first  # the shipped x4 card's Set5 PSNR
    e_rfdn = next(line for line in out.splitlines() if line.startswith("e-rfdn "))
    assert "download (1.8 MB)" in e_rfdn
    assert not (tmp_path / "home").exists()


def test_a_cached_official_file_is_listed_as_cached(capsys, tmp_path, monkeypatch):
    import dataclasses
    import hashlib

    from support.downloads import DOWNLOAD_URL, FakeServer

    from distillsr.checkpoints.official_download import cached_official_weights
    from distillsr.models import zoo

    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISTILLSR_OFFLINE", raising=False)
    data = b"\x00weights" * 4096  # 32,768 bytes: "32.8 KB" in the decimal units of the other sizes
    entry = zoo.ZOO["imdn"]
    weights = tuple(dataclasses.replace(w, url=DOWNLOAD_URL + w.filename, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
                    for w in entry.weights)
    monkeypatch.setitem(zoo.ZOO, "imdn", dataclasses.replace(entry, weights=weights))
    cached_official_weights("imdn", 2, exact=True, opener=FakeServer({DOWNLOAD_URL + "IMDN_x2.pth": data}), progress=None)
    for scale, state in (("2", "cached"), ("4", "download (32.8 KB)")):
        assert main(["zoo", "imdn", "-s", scale, "--no-macs"]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("imdn "))
        assert state in row, (scale, row)


def test_unknown_model_suggests_builtin_when_it_is_meant(capsys):
    assert main(["zoo", "bultin", "--no-macs"]) == 1
    assert "unknown model 'bultin'; did you mean builtin" in capsys.readouterr().err
