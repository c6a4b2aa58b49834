"""``upscale --max-memory``: the memory a forward may use caps the engine's budget, so a big image is tiled."""

from __future__ import annotations

import pytest

from distillsr.inference import upscaler as engine


def test_max_memory_caps_the_budget_and_tiles(tmp_path, upscale, photos, monkeypatch):
    seen = {}
    real_init = engine.Upscaler.__init__

    def spy(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen["limit"] = self.memory_limit
        seen["budget"] = self.memory_budget()

    monkeypatch.setattr(engine.Upscaler, "__init__", spy)
    source = photos.save(tmp_path / "a.png", photos.astronaut(16, 16))
    code, _, err = upscale(str(source), "-o", str(tmp_path / "out"), "-m", "bicubic", "-s", "2",
                           "--max-memory", "0.5", "-q")
    assert code == 0, err
    assert seen["limit"] == 1 << 29 and seen["budget"] <= 1 << 29
    with pytest.raises(SystemExit) as refused:  # argparse refuses it before any work
        upscale(str(source), "-o", str(tmp_path / "out2"), "--max-memory", "0", "-q")
    assert refused.value.code == 2
