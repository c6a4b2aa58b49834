"""The recipes shipped in configs/: present, loadable, sourced, and their quick variants in step."""

from __future__ import annotations

import pytest
from support import REPO_ROOT, load_shipped_recipe

from distillsr.stages import format_recipe, load_recipe

CONFIGS = REPO_ROOT / "configs"
ALL_RECIPES = sorted(CONFIGS.rglob("*.yaml"))
QUICK_RECIPES = sorted((CONFIGS / "quick").glob("*.yaml"))


def test_recipes_are_present():
    names = {p.relative_to(CONFIGS).as_posix() for p in ALL_RECIPES}
    for wanted in (
        "e-rfdn_x4.yaml",
        "rfdn_x2.yaml",
        "rfdn_x3.yaml",
        "rfdn_x4.yaml",
        "imdn_x2.yaml",
        "ddistill-sr_x4.yaml",
        "dipnet-student_x4.yaml",
        "edsr-baseline_x2.yaml",
        "edsr-baseline_x4.yaml",
    ):
        assert wanted in names
        assert f"quick/{wanted}" in names


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_recipe_loads_and_round_trips(path, tmp_path):
    recipe = load_shipped_recipe(path)
    printed = tmp_path / "printed.yaml"
    printed.write_text(format_recipe(recipe))
    assert load_recipe(printed) == recipe


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_recipe_names_its_sources(path):
    """Each hyperparameter block carries a comment saying where it comes from."""
    text = path.read_text()
    assert text.lstrip().startswith("#")
    if path.parent == CONFIGS:
        for key in ("batch_size:", "lr_patch_size:", "iterations:", "lr:"):
            line = next(line for line in text.splitlines() if line.strip().startswith(key))
            assert "#" in line, f"{path.name}: no source comment on {line.strip()!r}"


@pytest.mark.parametrize("path", QUICK_RECIPES, ids=lambda p: p.name)
def test_quick_recipes_match_their_full_recipe(path, full):
    quick, full = load_shipped_recipe(path), load_shipped_recipe(CONFIGS / path.name)
    assert (quick.model.name, quick.model.scale, quick.model.kwargs) == (
        full.model.name,
        full.model.scale,
        full.model.kwargs,
    )
    assert [s.kind for s in quick.stages] == [s.kind for s in full.stages]
    assert quick.data.train.hr_folders == ("../shared/data/T91/HR",)
    assert quick.data.val.folders == ("../shared/data/Set5/HR",)
    assert quick.data.train.degradation == full.data.train.degradation
    train = quick.stages[0]
    assert 300 <= train.iterations <= 1500
    assert 8 <= quick.data.train.batch_size <= 16 and 24 <= quick.data.train.lr_patch_size <= 48
    assert 0 < quick.data.val.every < train.iterations
    assert quick.output_dir != full.output_dir


def test_recipes_with_a_train_form_model_end_folded():
    for name in ("ddistill-sr_x2.yaml", "ddistill-sr_x3.yaml", "ddistill-sr_x4.yaml", "dipnet-student_x4.yaml"):
        assert load_recipe(CONFIGS / name).stages[-1].kind == "reparameterize"


def test_published_settings_are_carried():
    rfdn = load_recipe(CONFIGS / "rfdn_x4.yaml")
    stage = rfdn.stages[0]
    assert rfdn.data.train.batch_size == 64 and rfdn.data.train.hr_folders == ("datasets/DIV2K/DIV2K_train_HR",)
    assert stage.optimizer.type == "adam" and stage.optimizer.lr == pytest.approx(5e-4)
    assert stage.scheduler.type == "multistep" and stage.scheduler.gamma == 0.5
    assert stage.scheduler.milestones == (200_000, 400_000, 600_000, 800_000)
    imdn = load_recipe(CONFIGS / "imdn_x3.yaml")
    assert imdn.data.train.lr_patch_size == 64 and imdn.stages[0].optimizer.lr == pytest.approx(2e-4)
    assert imdn.data.train.lr_folders == ("datasets/DIV2K/DIV2K_train_LR_bicubic/X3",)


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_a_crash_loses_minutes_not_the_run(path):
    """States every 100 iterations or fewer for the CPU recipes (about 30 s of work), every 1000 or
    fewer for the GPU ones (about a minute); never only at the end, as the quick recipes once did."""
    recipe = load_shipped_recipe(path)
    bound = 100 if path.parent.name == "quick" else 1000
    assert 0 < recipe.checkpoint.every <= bound
    longest = max(getattr(stage, "iterations", 0) for stage in recipe.stages)
    assert recipe.checkpoint.every < longest  # at least one state before a stage ends
