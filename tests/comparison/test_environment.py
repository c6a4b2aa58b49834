"""bench.environment: the record of machine, software and settings written with the results."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import torch

from distillsr.comparison.environment import collect_environment, cpu_model
from distillsr.version import package_version


def test_the_cpu_model_is_the_one_proc_cpuinfo_names():
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo on this system")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
    if not names:
        pytest.skip("/proc/cpuinfo has no model name here")
    assert cpu_model() == names[0]


def test_the_record_holds_versions_hardware_threads_precision_device_and_date():
    env = collect_environment(torch.device("cpu"), "bf16")
    assert env["torch"] == torch.__version__ and env["distillsr"] == package_version()
    assert env["threads"] == torch.get_num_threads() and env["precision"] == "bf16" and env["device"] == "cpu"
    assert env["gpu"] is None and env["cpu"] == cpu_model()
    when = datetime.datetime.fromisoformat(env["date"])
    assert when.tzinfo is not None and abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60
