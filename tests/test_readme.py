"""The README's first command works on a clone with nothing beside it: its image ships in the repository."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _first_command() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)\n```", text, re.S)
    assert block, "the README starts with a bash block"
    steps = [step.strip() for step in block.group(1).split("&&")]
    assert steps[0] == "pip install torch==2.13.0" and steps[1].startswith("pip install -e .")
    return shlex.split(steps[-1])


def test_the_first_command_reads_only_what_the_repository_holds(tmp_path):
    argv = _first_command()
    assert argv[:2] == ["distillsr", "upscale"]
    image = argv[2]
    assert not image.startswith("..") and (ROOT / image).is_file(), f"{image} is not in the repository"
    out = argv[argv.index("-o") + 1]
    argv[argv.index("-o") + 1] = str(tmp_path / out)
    result = subprocess.run([sys.executable, "-m", "distillsr", *argv[1:]], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "1 upscaled, 0 skipped (exists), 0 failed" in result.stdout + result.stderr
    written = tmp_path / out / Path(image).name
    with Image.open(ROOT / image) as source, Image.open(written) as upscaled:
        assert upscaled.size == (source.width * 4, source.height * 4)


def test_the_sample_images_are_package_data_with_their_licences():
    from distillsr.data.samples import calibration_folder, sample_image

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/samples/*.png"' in pyproject and '"data/samples/calibration/*.png"' in pyproject
    notes = (sample_image().parent / "README.md").read_text(encoding="utf-8")
    for path in [sample_image(), *sorted(calibration_folder().glob("*.png"))]:
        assert path.name in notes, f"{path.name} has no source and licence in the samples README"
    assert "CC0" in notes and "public domain" in notes
