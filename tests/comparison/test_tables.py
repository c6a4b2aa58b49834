"""bench.tables: the columns, the numbers (the runner's, unrounded in CSV/JSON), the environment, atomic files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from distillsr.comparison.tables import (
    row_record,
    to_csv,
    to_json,
    to_markdown,
    write_tables,
)

CSV_COLUMNS = [
    "model", "architecture", "weights", "scale", "precision", "device", "threads", "input", "params", "macs",
    "flops_ntire_kit", "activations", "conv_layers", "runtime_median_ms", "runtime_min_ms", "runtime_max_ms",
    "runtime_iqr_ms", "runtime_repeats", "runtime_warmup", "runtime_per_image_dataset", "runtime_per_image_mean_ms",
    "runtime_per_image_method", "peak_memory_mib", "peak_memory_method", "protocol",
    "Alpha_psnr", "Alpha_ssim", "Beta_psnr", "Beta_ssim",
]


def test_csv_has_every_column_and_the_exact_numbers(bench_result):
    rows = list(csv.DictReader(io.StringIO(to_csv(bench_result))))
    assert list(rows[0]) == CSV_COLUMNS
    assert [row["model"] for row in rows] == ["dipnet", "e-rfdn", "bicubic"]
    for row, result in zip(rows, bench_result.rows):
        assert row["precision"] == "fp32" and row["protocol"] == "classic" and row["input"] == "3x24x24"
        assert int(row["params"]) == result.costs.params.total
        assert int(row["macs"]) == result.costs.ops.macs
        assert int(row["flops_ntire_kit"]) == result.costs.ntire_flops
        assert int(row["conv_layers"]) == result.costs.activations.conv_layers
        assert float(row["Alpha_psnr"]) == result.scores[0].mean.psnr  # repr round-trips: nothing rounded
        assert float(row["Beta_ssim"]) == result.scores[1].mean.ssim
        assert float(row["runtime_median_ms"]) == result.costs.runtime.median_ms
        assert float(row["runtime_per_image_mean_ms"]) == result.dataset_runtime.mean_ms


def test_json_records_the_environment_settings_and_rows(bench_result):
    import torch

    report = json.loads(to_json(bench_result))
    env = report["environment"]
    assert {"torch", "cpu", "gpu", "threads", "precision", "device", "date", "distillsr", "python"} <= set(env)
    assert env["torch"] == torch.__version__ and env["precision"] == "fp32" and env["device"] == "cpu"
    assert report["settings"]["input"] == "3x24x24" and report["settings"]["scale"] == 2
    assert report["protocol"] == "classic"
    for row, result in zip(report["rows"], bench_result.rows):
        assert row["precision"] == "fp32"
        assert row["costs"]["ops"]["macs"] == result.costs.ops.macs
        assert [s["protocol"] for s in row["scores"]] == ["classic", "classic"]
        assert row["scores"][0]["per_image"][0]["psnr"] == result.scores[0].images[0].score.psnr
        assert row["runtime_per_image"]["per_image_ms"] == list(result.dataset_runtime.per_image_ms)


def test_markdown_is_one_pasteable_table_with_notes(bench_result):
    text = to_markdown(bench_result)
    table = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header[:3] == ["Model", "Precision", "Params [K]"]
    assert "MACs [G] @3x24x24" in header and "#Conv" in header and "Alpha PSNR [dB] / SSIM" in header
    assert len(table) == 2 + len(bench_result.rows)
    assert all(line.count("|") == table[0].count("|") for line in table)
    first = [cell.strip() for cell in table[2].strip("|").split("|")]
    dipnet = bench_result.rows[0]
    assert first[:2] == ["dipnet", "fp32"]
    assert first[-2] == f"{dipnet.scores[0].mean.psnr:.2f} / {dipnet.scores[0].mean.ssim:.4f}"
    assert first[2] == f"{dipnet.costs.params.total / 1e3:.1f}"
    notes = text.split("\n\n", 1)[1]
    assert "classic protocol" in notes and "precision fp32" in notes and "thread(s)" in notes and "LR 3x24x24" in notes


def test_the_row_record_is_what_every_table_shows(bench_result):
    record = row_record(bench_result.rows[1], bench_result)
    assert record["model"] == "e-rfdn" and record["weights"].endswith("tiny_e-rfdn_x2.safetensors")
    assert record["peak_memory_mib"] == pytest.approx(bench_result.rows[1].costs.memory.peak_bytes / 2**20)


def test_tables_are_written_into_the_out_folder_only(bench_result, tmp_path):
    out = tmp_path / "new" / "results"
    written = write_tables(bench_result, out)
    assert sorted(path.name for path in written) == ["results.csv", "results.json", "results.md"]
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == ["results.csv", "results.json", "results.md"]
    assert (out / "results.md").read_text() == to_markdown(bench_result)
