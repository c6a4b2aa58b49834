"""The typed training recipe: strict YAML reading, overrides, printing, and the shipped recipes.

Fast: nothing here trains or touches image data; model checks build on the meta device.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from distillsr.errors import DistillsrError
from distillsr.imaging.degrade import DEGRADATION_NAMES
from distillsr.metrics.protocols import PROTOCOLS
from distillsr.training import (
    STAGE_KINDS,
    ConfigError,
    PixelLossConfig,
    RecipeConfig,
    ReparameterizeStageConfig,
    SchedulerConfig,
    TrainStageConfig,
    field_reference,
    format_recipe,
    load_recipe,
    parse_recipe,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / "configs"
ALL_RECIPES = sorted(CONFIGS.rglob("*.yaml"))
QUICK_RECIPES = sorted((CONFIGS / "quick").glob("*.yaml"))

MINIMAL = """\
model:
  name: rfdn
  scale: 4
data:
  train:
    hr_folders: [datasets/DIV2K/DIV2K_train_HR]
stages:
  - kind: train
    iterations: 1000
"""

FULL = """\
name: test
model: {name: ddistill-sr, scale: 4}
data:
  train: {hr_folders: [hr]}
  val: {folders: [set5], every: 100}
stages:
  - kind: train
    iterations: 1000
    optimizer:
      lr: 5.0e-4
    scheduler: {type: multistep, milestones: [500]}
  - kind: reparameterize
"""


def parse(text: str, overrides=(), source: str = "recipe.yaml") -> RecipeConfig:
    return parse_recipe(text, source=source, overrides=overrides)


def error_of(text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, overrides)
    message = str(caught.value)
    assert "\n" not in message, "errors are one line"
    assert message.startswith("recipe.yaml"), "errors name the file"
    return message


# --- the shipped recipes ----------------------------------------------------------------------


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
    recipe = load_recipe(path)
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
def test_quick_recipes_match_their_full_recipe(path):
    quick, full = load_recipe(path), load_recipe(CONFIGS / path.name)
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
    assert 8 <= quick.data.train.batch_size <= 16 and 32 <= quick.data.train.lr_patch_size <= 48
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


# --- defaults ---------------------------------------------------------------------------------


def test_minimal_recipe_gets_sensible_defaults():
    recipe = parse(MINIMAL)
    assert recipe.name == "rfdn_x4" and recipe.output_dir == "experiments/rfdn_x4"
    assert recipe.seed == 0
    train = recipe.data.train
    assert train.degradation == "BI" and train.lr_patch_size == 48 and train.batch_size == 16
    assert (train.augment.hflip, train.augment.vflip, train.augment.rot90) == (True, True, True)
    assert train.lr_folders is None and train.sub_images is None and train.repeat == 1
    assert recipe.data.val.folders == () and recipe.data.val.protocol == "classic"
    (stage,) = recipe.stages
    assert isinstance(stage, TrainStageConfig) and stage.kind == "train"
    assert stage.losses == (PixelLossConfig(type="l1"),)
    assert stage.optimizer.type == "adam" and stage.optimizer.betas == (0.9, 0.999)
    assert stage.scheduler.type == "constant"
    assert stage.ema_decay is None and stage.grad_clip is None and stage.amp == "none" and not stage.channels_last
    assert recipe.distributed.backend == "auto" and recipe.checkpoint.keep == 3


def test_stage_kind_defaults_to_train():
    assert parse(MINIMAL.replace("  - kind: train\n    iterations", "  - iterations")).stages[0].kind == "train"


def test_recipes_are_immutable():
    recipe = parse(MINIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.stages[0].optimizer.lr = 1.0  # type: ignore[misc]


def test_python_construction_is_checked_too():
    with pytest.raises(ConfigError, match="iterations: must be positive"):
        TrainStageConfig(iterations=0)
    with pytest.raises(ConfigError, match="milestones"):
        SchedulerConfig(type="multistep")


# --- strictness ---------------------------------------------------------------------------------


def test_unknown_key_names_path_and_nearest_key():
    text = MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    optimzer: {lr: 1.0e-4}")
    message = error_of(text)
    assert "stages.0.optimzer" in message and "'optimizer'" in message
    assert message.startswith("recipe.yaml:10:")  # the line of the misspelt key


@pytest.mark.parametrize(
    "old,new,path,nearest_key",
    [
        ("model:", "modle:", "modle", "model"),
        ("    hr_folders:", "    hr_folder:", "data.train.hr_folder", "hr_folders"),
        ("  scale: 4", "  scale: 4\n  kwarg: {}", "model.kwarg", "kwargs"),
    ],
)
def test_unknown_keys_everywhere(old, new, path, nearest_key):
    message = error_of(MINIMAL.replace(old, new))
    assert f"{path}:" in message and repr(nearest_key) in message


def test_unknown_key_without_near_match_lists_valid_keys():
    message = error_of(MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    zzz: 1"))
    assert "stages.0.zzz" in message and "valid keys" in message and "optimizer" in message


def test_wrong_type_names_path_and_expected_type():
    message = error_of(MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    optimizer: {lr: fast}"))
    assert "stages.0.optimizer.lr" in message and "a number" in message and "'fast'" in message
    message = error_of(MINIMAL.replace("iterations: 1000", "iterations: 1.5"))
    assert "stages.0.iterations" in message and "an integer" in message
    message = error_of(MINIMAL.replace("  scale: 4", "  scale: four"))
    assert "model.scale" in message and "an integer" in message
    message = error_of(MINIMAL.replace("    hr_folders", "    augment: {hflip: 1}\n    hr_folders"))
    assert "data.train.augment.hflip" in message and "true or false" in message
    message = error_of(MINIMAL.replace("  - kind: train", "  - kind: train\n    amp: fp8"))
    assert "stages.0.amp" in message and "none, bf16, fp16" in message


def test_missing_required_key():
    message = error_of(MINIMAL.replace("  scale: 4\n", ""))
    assert "model.scale" in message and "missing required key" in message
    message = error_of(MINIMAL.replace("    iterations: 1000\n", ""))
    assert "stages.0.iterations" in message and "missing" in message


def test_yaml_scientific_notation_string_is_coerced_to_float():
    assert yaml.safe_load("lr: 2e-4")["lr"] == "2e-4"  # why the coercion exists: YAML 1.1 wants a dot
    text = MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    optimizer: {lr: 2e-4, eps: 1e-8}")
    optimizer = parse(text).stages[0].optimizer
    assert optimizer.lr == 2e-4 and isinstance(optimizer.lr, float) and optimizer.eps == 1e-8


def test_safe_coercions_only():
    text = MINIMAL.replace("    iterations: 1000", "    iterations: 2e5\n    optimizer: {lr: 1}")
    stage = parse(text).stages[0]
    assert stage.iterations == 200_000 and isinstance(stage.iterations, int)
    assert stage.optimizer.lr == 1.0 and isinstance(stage.optimizer.lr, float)
    single = parse(MINIMAL.replace("[datasets/DIV2K/DIV2K_train_HR]", "datasets/DIV2K/DIV2K_train_HR"))
    assert single.data.train.hr_folders == ("datasets/DIV2K/DIV2K_train_HR",)
    assert "an integer" in error_of(MINIMAL.replace("iterations: 1000", "iterations: '1000x'"))
    assert "a string" in error_of(MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    name: 12"))


def test_duplicate_yaml_key_is_an_error():
    with pytest.raises(DistillsrError, match=r"recipe.yaml:\d+: .*duplicate key 'seed'"):
        parse(MINIMAL + "seed: 1\nseed: 2\n")


def test_invalid_yaml_is_one_line_with_the_file():
    with pytest.raises(DistillsrError, match=r"^recipe.yaml:\d+: invalid YAML"):
        parse(MINIMAL + "data: [1\n")


def test_empty_or_non_mapping_recipe():
    with pytest.raises(ConfigError, match="empty"):
        parse("")
    with pytest.raises(ConfigError, match="mapping"):
        parse("- 1\n- 2\n")


# --- model hyperparameters -----------------------------------------------------------------------


def test_unknown_model_kwarg_suggests_the_real_one():
    message = error_of(MINIMAL.replace("  scale: 4", "  scale: 4\n  kwargs: {channels_x: 32}"))
    assert "model.kwargs.channels_x" in message and "'channels'" in message and "RFDN" in message


def test_model_kwargs_are_typed_and_build():
    recipe = parse(MINIMAL.replace("  scale: 4", "  scale: 4\n  kwargs: {channels: 32, attention: ESA}"))
    assert recipe.model.kwargs == {"channels": 32, "attention": "esa"}
    message = error_of(MINIMAL.replace("  scale: 4", "  scale: 4\n  kwargs: {channels: many}"))
    assert "model.kwargs.channels" in message and "an integer" in message
    assert "model.scale" in error_of(MINIMAL.replace("  scale: 4", "  scale: 4\n  kwargs: {scale: 2}"))


def test_unknown_model_and_unsupported_scale():
    message = error_of(MINIMAL.replace("name: rfdn", "name: rfnd"))
    assert "model.name" in message and "rfdn" in message
    message = error_of(MINIMAL.replace("scale: 4", "scale: 8"))
    assert "model.scale" in message and "x8" in message


# --- stage kinds and loss types -------------------------------------------------------------------


def test_unknown_stage_kind_lists_known_kinds():
    message = error_of(MINIMAL.replace("kind: train", "kind: distil"))
    assert "stages.0.kind" in message and "'distil'" in message
    for kind in STAGE_KINDS:
        assert kind in message


def test_reparameterize_stage_takes_no_training_options():
    message = error_of(FULL.replace("  - kind: reparameterize", "  - kind: reparameterize\n    iterations: 5"))
    assert "stages.1.iterations" in message and "reparameterize" in message


def test_reparameterize_needs_a_foldable_model():
    message = error_of(MINIMAL + "  - kind: reparameterize\n")
    assert "stages.1" in message and "nothing" not in message and "fold" in message
    recipe = parse(FULL)
    assert isinstance(recipe.stages[1], ReparameterizeStageConfig)
    assert "already folded" in error_of(FULL + "  - kind: reparameterize\n")


def test_loss_terms():
    text = MINIMAL.replace(
        "    iterations: 1000",
        "    iterations: 1000\n    losses: [{type: charbonnier, eps: 1.0e-6}, {type: MSELoss, loss_weight: 0.5}]",
    )
    charbonnier, l2 = parse(text).stages[0].losses
    assert (charbonnier.type, charbonnier.eps, charbonnier.weight) == ("charbonnier", 1e-6, 1.0)
    assert (l2.type, l2.weight) == ("l2", 0.5)
    message = error_of(MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{type: l3}]"))
    assert "stages.0.losses.0.type" in message and "l1, l2, charbonnier" in message
    assert "'type'" in error_of(
        MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{typ: l1}]")
    )
    assert "charbonnier" in error_of(
        MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    losses: [{type: l1, eps: 1}]")
    )


def test_schedule_checks():
    bad = MINIMAL.replace(
        "    iterations: 1000", "    iterations: 1000\n    scheduler: {type: multistep, milestones: [500, 2000]}"
    )
    assert "stages.0.scheduler.milestones" in error_of(bad)
    aliased = MINIMAL.replace(
        "    iterations: 1000", "    iterations: 1000\n    scheduler: {type: CosineAnnealingRestartLR, eta_min: 1.0e-7}"
    )
    schedule = parse(aliased).stages[0].scheduler
    assert schedule.type == "cosine" and schedule.min_lr == 1e-7
    assert "step_size" in error_of(
        MINIMAL.replace("    iterations: 1000", "    iterations: 1000\n    scheduler: {type: step}")
    )


def test_patch_must_fit_the_model():
    text = MINIMAL.replace("name: rfdn", "name: e-rfdn").replace(
        "    hr_folders", "    lr_patch_size: 8\n    hr_folders"
    )
    message = error_of(text)
    assert "data.train.lr_patch_size" in message and "15" in message


def test_protocol_and_degradation_are_checked():
    assert "classic" in error_of(MINIMAL.replace("data:\n", "data:\n  val: {protocol: matlab}\n"))
    message = error_of(MINIMAL.replace("    hr_folders", "    degradation: BX\n    hr_folders"))
    assert "data.train.degradation" in message and "BI, BD, DN" in message
    assert (
        parse(MINIMAL.replace("    hr_folders", "    degradation: bd\n    hr_folders")).data.train.degradation == "BD"
    )


def test_schema_choices_match_the_package():
    hints = {row.path: row for row in field_reference()}
    assert hints["data.train.degradation"].type == "|".join(DEGRADATION_NAMES)
    assert set(PROTOCOLS) == {"classic", "ntire"}


# --- BasicSR spellings -----------------------------------------------------------------------------


def test_basicsr_keys_are_accepted():
    text = """\
manual_seed: 10
model: {name: imdn, scale: 2}
data:
  train: {dataroot_gt: hr, dataroot_lq: lr, dataset_enlarge_ratio: 5, num_worker_per_gpu: 3}
  val: {val_freq: 100}
stages:
  - total_iter: 1000
    optim_g: {type: Adam, lr: 2e-4}
    scheduler: {type: MultiStepLR, milestones: [500], gamma: 0.5, warmup_iter: 10}
    losses: [{type: L1Loss, loss_weight: 1.0}]
logger: {print_freq: 10, use_tb_logger: true}
checkpoint: {save_checkpoint_freq: 500}
dist_params: {backend: nccl}
"""
    recipe = parse(text)
    assert recipe.seed == 10 and recipe.data.train.hr_folders == ("hr",) and recipe.data.train.lr_folders == ("lr",)
    assert recipe.data.train.repeat == 5 and recipe.data.train.num_workers == 3 and recipe.data.val.every == 100
    stage = recipe.stages[0]
    assert stage.iterations == 1000 and stage.optimizer.type == "adam" and stage.scheduler.type == "multistep"
    assert stage.scheduler.warmup_iterations == 10 and stage.losses[0].type == "l1"
    assert recipe.logging.tensorboard and recipe.checkpoint.every == 500 and recipe.distributed.backend == "nccl"
    assert "seed:" in format_recipe(recipe) and "manual_seed" not in format_recipe(recipe)  # printed in our spelling


def test_key_and_alias_together_is_an_error():
    message = error_of(MINIMAL.replace("    hr_folders:", "    dataroot_gt: x\n    hr_folders:"))
    assert "data.train.hr_folders" in message and "dataroot_gt" in message


# --- overrides ---------------------------------------------------------------------------------------


def test_overrides_apply_before_validation():
    recipe = parse(
        FULL,
        [
            "stages.0.optimizer.lr=2e-4",
            "data.train.batch_size=8",
            "stages.0.ema_decay=0.999",
            "model.kwargs.channels=48",
            "data.train.hr_folders=[a, b]",
            "logging.print_freq=7",
        ],
    )
    stage = recipe.stages[0]
    assert stage.optimizer.lr == 2e-4 and recipe.data.train.batch_size == 8 and stage.ema_decay == 0.999
    assert recipe.model.kwargs == {"channels": 48} and recipe.data.train.hr_folders == ("a", "b")
    assert recipe.logging.print_every == 7


def test_override_of_an_absent_optional_section():
    recipe = parse(MINIMAL, ["data.train.sub_images.crop=240"])
    assert recipe.data.train.sub_images is not None and recipe.data.train.sub_images.crop == 240


def test_override_changing_a_stage_kind():
    recipe = parse(FULL, ["stages.1.kind=train", "stages.1.iterations=10"])
    assert recipe.stages[1].kind == "train" and recipe.stages[1].iterations == 10


@pytest.mark.parametrize(
    "override,expected",
    [
        ("stages.0.optimzer.lr=1", ["stages.0.optimzer", "'optimizer'", "--set"]),
        ("data.trian.batch_size=8", ["data.trian", "'train'"]),
        ("stages.5.iterations=10", ["stages.5", "2 item(s)"]),
        ("stages.1.iterations=10", ["stages.1.iterations", "reparameterize"]),
        ("seed.value=1", ["seed", "single value"]),
        ("model.kwargs.chanels=48", ["model.kwargs.chanels", "'channels'"]),
        ("seed", ["key.path=value"]),
    ],
)
def test_bad_overrides(override, expected):
    message = error_of(FULL, [override])
    for part in expected:
        assert part in message


def test_override_values_are_typed():
    assert "stages.0.iterations" in error_of(FULL, ["stages.0.iterations=many"])
    assert parse(FULL, ["data.val.every=0"]).data.val.every == 0
    assert parse(FULL, ["stages.0.grad_clip=null"]).stages[0].grad_clip is None


def test_load_recipe_with_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL)
    recipe = load_recipe(path, ["seed=5"])
    assert recipe.seed == 5
    with pytest.raises(ConfigError, match="mine.yaml"):
        load_recipe(path, ["sed=5"])
    with pytest.raises(DistillsrError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")


# --- printing -----------------------------------------------------------------------------------------


def test_format_recipe_round_trips_everything():
    text = FULL.replace(
        "      lr: 5.0e-4",
        "      lr: 5.0e-4\n      betas: [0.8, 0.99]\n    losses: [{type: charbonnier, eps: 1e-6}, {type: l2, weight: 0.1}]",
    )
    recipe = parse(text, ["model.kwargs.channels=48", "data.train.sub_images.crop=240", "stages.0.amp=bf16"])
    printed = format_recipe(recipe)
    again = parse(printed)
    assert again == recipe
    assert format_recipe(again) == printed
    data = yaml.safe_load(printed)
    assert data["stages"][0]["kind"] == "train" and data["stages"][1] == {"kind": "reparameterize", "name": None}
    assert data["stages"][0]["losses"][0]["type"] == "charbonnier"


def test_every_field_is_documented():
    rows = field_reference()
    paths = {row.path for row in rows}
    assert {"model.kwargs", "data.train.hr_folders", "stages[kind=train].optimizer.lr", "checkpoint.keep"} <= paths
    assert "stages[kind=train].losses[type=l1|l2|charbonnier].eps" in paths
    for row in rows:
        assert row.help and "\n" not in row.help, row.path


def test_import_does_no_heavy_work():
    code = "import sys, distillsr.training; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
