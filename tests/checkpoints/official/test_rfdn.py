"""E-RFDN checkpoint detection: the official file's 0-255 input range is recorded, and it matters."""

from __future__ import annotations

import numpy as np
import torch
from support import official_weights, require_shared

from distillsr.checkpoints.weights_file import read_weights
from distillsr.checkpoints.model_loading import load_or_build


def test_e_rfdn_input_range_is_recorded_and_matters():
    path = official_weights("rfdn", "RFDN_AIM.pth")
    weights = read_weights(path)
    assert weights.info.model == "e-rfdn" and weights.info.input_range == 255.0
    model = load_or_build("e-rfdn", 4, str(path))
    golden = np.load(require_shared("reference", "golden", "e-rfdn_x4.npz"))
    x = torch.from_numpy(golden["lr"].astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        right = model(x)[0].numpy()
        model.input_range = 1.0  # what a careless loader does
        wrong = model(x)[0].numpy()
    assert np.abs(right - golden["sr"]).max() < 2e-5
    assert np.abs(wrong - golden["sr"]).max() > 0.05
