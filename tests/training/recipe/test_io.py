"""Reading recipes strictly, BasicSR spellings, ``--set`` overrides, and printing them back.

Fast: nothing here trains or touches image data; model checks build on the meta device.
"""

from __future__ import annotations

import pytest
import yaml

from distillsr.errors import DistillsrError
from distillsr.stages import format_recipe, load_recipe, recipe_from_dict, recipe_to_dict
from distillsr.training.recipe import ConfigError


def test_unknown_key_names_path_and_nearest_key(minimal, error_of):
    text = minimal.replace("    iterations: 1000", "    iterations: 1000\n    optimzer: {lr: 1.0e-4}")
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
def test_unknown_keys_everywhere(old, new, path, nearest_key, minimal, error_of):
    message = error_of(minimal.replace(old, new))
    assert f"{path}:" in message and repr(nearest_key) in message


def test_unknown_key_without_near_match_lists_valid_keys(minimal, error_of):
    message = error_of(minimal.replace("    iterations: 1000", "    iterations: 1000\n    zzz: 1"))
    assert "stages.0.zzz" in message and "valid keys" in message and "optimizer" in message


def test_wrong_type_names_path_and_expected_type(minimal, error_of):
    message = error_of(minimal.replace("    iterations: 1000", "    iterations: 1000\n    optimizer: {lr: fast}"))
    assert "stages.0.optimizer.lr" in message and "a number" in message and "'fast'" in message
    message = error_of(minimal.replace("iterations: 1000", "iterations: 1.5"))
    assert "stages.0.iterations" in message and "an integer" in message
    message = error_of(minimal.replace("  scale: 4", "  scale: four"))
    assert "model.scale" in message and "an integer" in message
    message = error_of(minimal.replace("    hr_folders", "    augment: {hflip: 1}\n    hr_folders"))
    assert "data.train.augment.hflip" in message and "true or false" in message
    message = error_of(minimal.replace("  - kind: train", "  - kind: train\n    amp: fp8"))
    assert "stages.0.amp" in message and "none, bf16, fp16" in message


def test_missing_required_key(minimal, error_of):
    message = error_of(minimal.replace("  scale: 4\n", ""))
    assert "model.scale" in message and "missing required key" in message
    message = error_of(minimal.replace("    iterations: 1000\n", ""))
    assert "stages.0.iterations" in message and "missing" in message


def test_yaml_scientific_notation_string_is_coerced_to_float(minimal, parse):
    assert yaml.safe_load("lr: 2e-4")["lr"] == "2e-4"  # why the coercion exists: YAML 1.1 wants a dot
    text = minimal.replace("    iterations: 1000", "    iterations: 1000\n    optimizer: {lr: 2e-4, eps: 1e-8}")
    optimizer = parse(text).stages[0].optimizer
    assert optimizer.lr == 2e-4 and isinstance(optimizer.lr, float) and optimizer.eps == 1e-8


def test_safe_coercions_only(minimal, parse, error_of):
    text = minimal.replace("    iterations: 1000", "    iterations: 2e5\n    optimizer: {lr: 1}")
    stage = parse(text).stages[0]
    assert stage.iterations == 200_000 and isinstance(stage.iterations, int)
    assert stage.optimizer.lr == 1.0 and isinstance(stage.optimizer.lr, float)
    single = parse(minimal.replace("[datasets/DIV2K/DIV2K_train_HR]", "datasets/DIV2K/DIV2K_train_HR"))
    assert single.data.train.hr_folders == ("datasets/DIV2K/DIV2K_train_HR",)
    assert "an integer" in error_of(minimal.replace("iterations: 1000", "iterations: '1000x'"))
    assert "a string" in error_of(minimal.replace("    iterations: 1000", "    iterations: 1000\n    name: 12"))


def test_duplicate_yaml_key_is_an_error(minimal, parse):
    with pytest.raises(DistillsrError, match=r"recipe.yaml:\d+: .*duplicate key 'seed'"):
        parse(minimal + "seed: 1\nseed: 2\n")


def test_invalid_yaml_is_one_line_with_the_file(minimal, parse):
    with pytest.raises(DistillsrError, match=r"^recipe.yaml:\d+: invalid YAML"):
        parse(minimal + "data: [1\n")


def test_empty_or_non_mapping_recipe(parse):
    with pytest.raises(ConfigError, match="empty"):
        parse("")
    with pytest.raises(ConfigError, match="mapping"):
        parse("- 1\n- 2\n")


def test_basicsr_keys_are_accepted(parse):
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


def test_key_and_alias_together_is_an_error(minimal, error_of):
    message = error_of(minimal.replace("    hr_folders:", "    dataroot_gt: x\n    hr_folders:"))
    assert "data.train.hr_folders" in message and "dataroot_gt" in message


def test_overrides_apply_before_validation(full, parse):
    recipe = parse(
        full,
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


def test_override_of_an_absent_optional_section(minimal, parse):
    recipe = parse(minimal, ["data.train.sub_images.crop=240"])
    assert recipe.data.train.sub_images is not None and recipe.data.train.sub_images.crop == 240


def test_override_changing_a_stage_kind(full, parse):
    recipe = parse(full, ["stages.1.kind=train", "stages.1.iterations=10"])
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
def test_bad_overrides(override, expected, full, error_of):
    message = error_of(full, [override])
    for part in expected:
        assert part in message


def test_override_values_are_typed(full, parse, error_of):
    assert "stages.0.iterations" in error_of(full, ["stages.0.iterations=many"])
    assert parse(full, ["data.val.every=0"]).data.val.every == 0
    assert parse(full, ["stages.0.grad_clip=null"]).stages[0].grad_clip is None


def test_load_recipe_with_overrides(tmp_path, minimal):
    path = tmp_path / "mine.yaml"
    path.write_text(minimal)
    recipe = load_recipe(path, ["seed=5"])
    assert recipe.seed == 5
    with pytest.raises(ConfigError, match="mine.yaml"):
        load_recipe(path, ["sed=5"])
    with pytest.raises(DistillsrError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")


def test_format_recipe_round_trips_everything(full, parse):
    text = full.replace(
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


def test_recipe_dict_round_trip_leaves_the_input_alone(full, parse):
    recipe = parse(full)
    data = recipe_to_dict(recipe)
    assert list(data["stages"][0])[0] == "kind"  # the tag is written first
    assert recipe_from_dict(data) == recipe
    again = recipe_from_dict(data, overrides=["seed=9"])
    assert again.seed == 9 and data["seed"] == 0


def test_override_into_a_list_the_recipe_lacks(minimal, error_of):
    message = error_of(minimal, ["stages.0.losses.0.eps=1"])
    assert "stages.0.losses" in message and "the recipe has no losses list" in message
