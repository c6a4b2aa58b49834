"""Fixtures the ONNX backend tests and the export tests share: a real photo, and one exported model.

The small zoo models they are made from live in :mod:`support` (``small_zoo_model``).
"""

from __future__ import annotations

import numpy as np
import pytest
from support import SHARED_DATA, require_shared, shared_is_required
from support.models import perturb_batchnorm_statistics, small_zoo_model

PHOTO_SIZE = 40


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 40x40 centre crop of a real photo: Set5 baby, else scikit-image's astronaut.

    Statistics-dependent layers are only exercised realistically by a photo. Under CI
    (``DISTILLSR_REQUIRE_SHARED``) the Set5 image must be there.
    """
    if (SHARED_DATA / "Set5" / "HR" / "baby.png").is_file() or shared_is_required():
        from distillsr.imaging.read import read_image

        image = read_image(require_shared("data", "Set5", "HR", "baby.png"))[..., :3]
    else:
        skdata = pytest.importorskip("skimage.data", reason="no real photo available (neither ../shared nor scikit-image)")
        image = skdata.astronaut()
    top, left = (image.shape[0] - PHOTO_SIZE) // 2, (image.shape[1] - PHOTO_SIZE) // 2
    return np.ascontiguousarray(image[top : top + PHOTO_SIZE, left : left + PHOTO_SIZE])


@pytest.fixture(scope="session")
def exported_ddistill(tmp_path_factory, photo):
    """A train-form DDistill-SR (dynamic branch, DBB with BatchNorms), exported once for several tests."""
    pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
    pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
    from distillsr.inference.export import export_onnx

    model = perturb_batchnorm_statistics(small_zoo_model("ddistill-sr"))
    model.metadata["provenance"] = {"source": "test", "seed": 0}
    path = tmp_path_factory.mktemp("ddistill") / "ddistill.onnx"
    return model, export_onnx(model, path, verify_image=photo, image_source="test photo")
