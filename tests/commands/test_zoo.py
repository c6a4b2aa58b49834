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
    assert "imdn            2,3,4    (no x8)" in out
    assert _rows(out)["bicubic"][:5] == ["bicubic", "any", "plain", "1", "0"]


def test_unknown_model_is_one_line_with_a_suggestion(capsys):
    assert main(["zoo", "dipnett", "--no-macs"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "unknown model 'dipnett'; did you mean dipnet" in captured.err
