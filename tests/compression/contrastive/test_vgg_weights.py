"""Where the VGG-19 weights come from: a user's file (hash-checked), the cache folder, or an explicit random VGG.

Downloads are never exercised here ($DISTILLSR_OFFLINE is set for every test); the cache folder is
the test's own $DISTILLSR_HOME.
"""

from __future__ import annotations

import hashlib
import logging
import shutil

import pytest
import torch

from distillsr.compression.contrastive.vgg_weights import (
    VGG19_FILENAME,
    VGG19_URL,
    name_hash_prefix,
    vgg19_features,
    vgg_folder,
)
from distillsr.errors import DistillsrError
from distillsr.home import distillsr_home


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_user_file_loads_with_or_without_its_full_sha256(vgg_file, vgg_state):
    vgg = vgg19_features(str(vgg_file))
    assert torch.equal(vgg.state_dict()["features.28.weight"], vgg_state["features.28.weight"])
    vgg19_features(str(vgg_file), _sha256(vgg_file))  # the right hash passes
    with pytest.raises(DistillsrError, match="does not match its sha256") as error:
        vgg19_features(str(vgg_file), "0" * 64)
    assert _sha256(vgg_file) in str(error.value)


def test_a_safetensors_copy_loads_too(vgg_state, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "vgg19.safetensors"
    save_file({name: tensor.contiguous() for name, tensor in vgg_state.items()}, str(path))
    vgg = vgg19_features(str(path))
    assert torch.equal(vgg.state_dict()["features.0.bias"], vgg_state["features.0.bias"])


def test_a_torchvision_style_name_has_its_hash_prefix_checked(vgg_file, tmp_path):
    prefix = _sha256(vgg_file)[:8]
    right = tmp_path / f"vgg19-{prefix}.pth"
    shutil.copy(vgg_file, right)
    assert name_hash_prefix(right) == prefix
    vgg19_features(str(right))
    wrong = tmp_path / "vgg19-dcbb9e9d.pth"  # the real file's name on other bytes
    shutil.copy(vgg_file, wrong)
    with pytest.raises(DistillsrError, match=r"sha256 prefix in its name \(dcbb9e9d\)"):
        vgg19_features(str(wrong))


def test_without_weights_offline_the_error_says_where_to_get_them_and_the_recipe_key():
    with pytest.raises(DistillsrError) as error:
        vgg19_features(None, key="stages.0.vgg_weights")
    message = str(error.value)
    assert "\n" not in message
    folder = distillsr_home() / "weights" / "vgg19"
    assert VGG19_URL in message and str(folder) in message and "stages.0.vgg_weights: PATH" in message
    assert "DISTILLSR_OFFLINE" in message and "random" in message
    assert not folder.exists(), "a failed lookup leaves no folder behind"


def test_a_file_put_into_the_cache_folder_is_used_offline_when_its_name_hash_fits(vgg_file, monkeypatch):
    import distillsr.compression.contrastive.vgg_weights as weights

    folder = vgg_folder()
    folder.mkdir(parents=True)
    prefix = _sha256(vgg_file)[:8]
    monkeypatch.setattr(weights, "VGG19_FILENAME", f"vgg19-{prefix}.pth")
    shutil.copy(vgg_file, folder / f"vgg19-{prefix}.pth")
    vgg19_features(None)
    from distillsr.data import download

    monkeypatch.setattr(download, "hash_file", lambda path: pytest.fail("hashed the cached file again"))
    vgg19_features(None)  # the second time from the download record


def test_a_wrong_file_under_the_official_name_is_refused_and_left_for_its_owner(vgg_file):
    folder = vgg_folder()
    folder.mkdir(parents=True)
    shutil.copy(vgg_file, folder / VGG19_FILENAME)
    with pytest.raises(DistillsrError, match="not torchvision's VGG-19; delete it"):
        vgg19_features(None)
    assert (folder / VGG19_FILENAME).is_file()


def test_random_needs_saying_and_warns_that_the_loss_is_not_csd(caplog):
    state = torch.random.get_rng_state()
    with caplog.at_level(logging.WARNING):
        first = vgg19_features("random", key="stages.1.vgg_weights")
    assert torch.equal(torch.random.get_rng_state(), state), "the run's random stream is untouched"
    assert "stages.1.vgg_weights: random" in caplog.text and "not CSD's loss" in caplog.text
    second = vgg19_features("random")
    assert torch.equal(first.state_dict()["features.0.weight"], second.state_dict()["features.0.weight"])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("vgg.pth", b"not a checkpoint", "not a readable PyTorch weights file"),
        ("vgg.txt", b"these are not weights\n", "not a readable PyTorch weights file"),  # torch.load: KeyError 101
        ("vgg.pth", "pickle", "refusing to unpickle"),
    ],
    ids=["garbage", "text", "code-pickle"],
)
def test_unreadable_or_unsafe_files_are_one_line_errors(tmp_path, name, content, reason):
    path = tmp_path / name
    if content == "pickle":
        torch.save({"features.0.weight": torch.zeros(1), "hook": shutil.copy}, path)  # a function: weights_only refuses it
    else:
        path.write_bytes(content)
    with pytest.raises(DistillsrError, match=reason) as error:
        vgg19_features(str(path))
    assert "\n" not in str(error.value) and str(error.value).startswith(f"{path}: ")


def test_a_missing_user_file_names_the_key(tmp_path):
    with pytest.raises(DistillsrError, match=r"stages.2.vgg_weights: no VGG-19 weights file at .*nothing.pth"):
        vgg19_features(str(tmp_path / "nothing.pth"), key="stages.2.vgg_weights")
