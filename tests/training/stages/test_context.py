"""StageContext: the model's description, data, validation lines, logs and training states a stage uses."""

from __future__ import annotations

import logging

import pytest
import torch

from distillsr.checkpoints.format import read_checkpoint
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.training.distributed import ProcessInfo
from distillsr.training.state import load_training_state, save_training_state


def test_model_files_describe_the_network_as_stages_changed_it(make_session):
    context = make_session().context
    info = context.model_info("train", {"stage": 1})
    assert info.model == "imdn" and info.scale == 2 and info.kwargs["channels"] == 16 and info.kwargs["num_blocks"] == 1
    assert info.provenance == {"recipe": "tiny", "stage": 1}
    context.model_kwargs["num_blocks"] = 2  # e.g. a stage that grew or pruned the network
    assert context.model_info("deploy").kwargs["num_blocks"] == 2
    assert context.input_range == 1.0 and context.entry.name == "imdn"


def test_the_form_follows_the_foldable_blocks(make_session):
    from distillsr.nn.reparam import deploy

    session = make_session(folding=True)
    network = session.build_network()
    assert session.context.form_of(network) == "train"
    assert session.context.form_of(deploy(network)) == "deploy"


def test_patch_loaders_use_the_stage_sizes_and_split_batches_over_processes(make_session):
    context = make_session(batch=4).context
    batches, sampler = context.patch_loader(0, lr_patch_size=16, batch_size=2)
    batch = next(batches)
    assert batch["lr"].shape == (2, 3, 16, 16) and batch["hr"].shape == (2, 3, 32, 32)
    assert next(context.patch_loader(0)[0])["lr"].shape == (4, 3, 12, 12)  # data.train's own
    context.process = ProcessInfo(rank=0, world_size=3)
    with pytest.raises(DistillsrError, match="batch size 4 does not split evenly over 3 processes"):
        context.patch_loader(0)


def test_reading_training_patches_leaves_the_global_generators_alone(make_session):
    from distillsr.training.state import capture_rng

    context = make_session().context
    before = capture_rng()
    patches = [context.training_set(in_memory=False)[i]["lr"] for i in range(3)]
    again = [context.training_set()[i]["lr"] for i in range(3)]
    after = capture_rng()
    assert all(torch.equal(a, b) for a, b in zip(patches, again, strict=True)), "items are a pure function of the index"
    assert torch.equal(before["torch"], after["torch"]) and before["python"] == after["python"]
    assert before["numpy"] == after["numpy"]


def test_each_validation_check_prints_one_line_and_keeps_the_best_model(make_session, out_of, caplog):
    context = make_session("val", val_every=5).context
    assert make_session("off").context.validator("x", 1) is None, "validation off: no validator"
    validate = context.validator("stage0-train", 10)
    network = make_session("val", val_every=5).build_network()
    with caplog.at_level(logging.INFO, logger="distillsr"):
        scores = validate(network, 5)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[stage0-train")]
    name = next(key for key in scores if key.endswith("_psnr_classic")).removesuffix("_psnr_classic")
    psnr, ssim = scores[f"{name}_psnr_classic"], scores[f"{name}_ssim_classic"]
    assert lines == [f"[stage0-train 5/10] {name} PSNR {psnr:.2f} dB SSIM {ssim:.4f} (classic)"]
    assert context.best_psnr == psnr
    info, _ = read_checkpoint(out_of("val") / "models" / "best.safetensors")
    assert info.provenance["iteration"] == 5 and info.form == "deploy"


def test_a_training_state_carries_the_stage_finished_changes_and_the_stage_extras(make_session, out_of):
    session = make_session("states", "checkpoint.keep=2")
    context, network = session.context, session.build_network()
    context.best_psnr = 21.5
    context.finished["1"] = {"record": {"widths": [4, 2]}, "model_kwargs": {"num_blocks": 2}}
    write = context.checkpoint_writer(2, form="deploy", extra_state=lambda: {"owned": {"adapters": {}}})
    for iteration in (1, 2, 3):
        write(iteration, {"model": network.state_dict(), "ema": None, "iteration": iteration})
    folder = out_of("states") / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["stage2_iter00000002.pt", "stage2_iter00000003.pt"]
    state = load_training_state(folder / "stage2_iter00000003.pt")
    assert state["stage"] == 2 and state["best_psnr"] == 21.5 and state["iteration"] == 3
    assert state["finished"] == {"1": {"record": {"widths": [4, 2]}, "model_kwargs": {"num_blocks": 2}}}
    assert state["owned"] == {"adapters": {}}
    info, _ = read_checkpoint(out_of("states") / "models" / "last.safetensors")
    assert info.form == "deploy" and info.provenance == {"recipe": "tiny", "stage": 2, "iteration": 3}
    assert not (out_of("states") / "models" / "last_ema.safetensors").exists()
    assert [s[:2] for s in context.state_files()] == [(2, 2), (2, 3)]


def test_the_state_just_written_is_kept_whatever_its_number(make_session, out_of):
    """``keep: 1`` keeps the newest state *written*: a higher-numbered state left in the folder (another
    run's, or one past the state a run resumed from) must not outlive the one this run just saved."""
    session = make_session("leftover", "checkpoint.keep=1")
    context, network = session.context, session.build_network()
    folder = out_of("leftover") / "checkpoints"
    save_training_state(folder / "stage0_iter00000071.pt", {"iteration": 71, "stage": 0})
    write = context.checkpoint_writer(0)
    write(5, {"model": network.state_dict(), "ema": None, "iteration": 5})
    assert sorted(p.name for p in folder.iterdir()) == ["stage0_iter00000005.pt"]
    write(6, {"model": network.state_dict(), "ema": None, "iteration": 6})
    assert sorted(p.name for p in folder.iterdir()) == ["stage0_iter00000006.pt"]
    assert context.last_state == folder / "stage0_iter00000006.pt"


def test_only_the_main_process_writes(make_session, out_of):
    session = make_session("rank1")
    context = session.context
    context.process = ProcessInfo(rank=1, world_size=2)
    context.checkpoint_writer(0)(1, {"model": {}, "iteration": 1})
    assert context.save_model("final", session.build_network()) is None
    assert not (out_of("rank1") / "checkpoints").exists() and not (out_of("rank1") / "models").exists()


def test_saved_models_load_like_any_other(make_session):
    session = make_session("final")
    network = session.build_network()
    path = session.context.save_model("final", network, {"stages": 1})
    loaded = load_or_build(None, None, str(path))
    for name, tensor in network.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[name], tensor)


def test_losses_are_a_debug_line_and_a_csv_row(make_session, out_of, caplog):
    context = make_session("losses").context
    log = context.metrics_logger(0, "stage0-train", 10)
    with caplog.at_level(logging.DEBUG, logger="distillsr"):
        log(2, {"loss": 0.25, "l1": 0.25, "lr": 2e-3, "seconds": 1.0})
        log(2, {"images_psnr_classic": 20.0})
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["[stage0-train 2/10] loss 0.25 (l1 0.25), lr 2.00e-03"]
    rows = (out_of("losses") / "log.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["stage", "iteration", "loss"] and len(rows) == 3


def test_a_validator_that_does_not_keep_the_best_only_scores(make_session, out_of, caplog):
    """Another width of a slimmable network is scored and logged, but never becomes ``best``."""
    session = make_session("scored", val_every=5)
    network = session.build_network()
    validate = session.context.validator("stage0-train w1", 10, keep_best=False)
    with caplog.at_level(logging.INFO, logger="distillsr"):
        scores = validate(network, 5)
    assert any(r.getMessage().startswith("[stage0-train w1 5/10] ") for r in caplog.records)
    assert scores and session.context.best_psnr is None
    assert not (out_of("scored") / "models" / "best.safetensors").exists()


def test_a_running_stage_describes_its_own_model_files_without_changing_the_runs(make_session, out_of):
    """``model_kwargs=`` reaches ``best`` and ``last`` written mid-stage; the run's description is the session's to merge."""
    session = make_session("described", val_every=5)
    context, network = session.context, session.build_network()
    context.validator("stage0-train", 10, model_kwargs={"num_blocks": 1, "note": "mid-stage"})(network, 5)
    context.checkpoint_writer(0, model_kwargs={"note": "mid-stage"})(5, {"model": network.state_dict(), "iteration": 5})
    for name in ("best", "last"):
        info, _ = read_checkpoint(out_of("described") / "models" / f"{name}.safetensors")
        assert info.kwargs["note"] == "mid-stage", name
    assert context.model_kwargs == {}
    assert "note" not in context.model_info("train").kwargs
