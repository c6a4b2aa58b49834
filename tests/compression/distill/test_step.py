"""The distill step inside the real training loop: losses fall, the teacher stays frozen, wrappers work."""

from __future__ import annotations

import copy
import signal
import textwrap

import pytest
import torch
from support import REPO_ROOT, official_weights
from support.training import run_two_ranks

from distillsr.compression.distill.anchors import AnchorPair
from distillsr.compression.distill.losses import FeatureLoss, TeacherOutputLoss
from distillsr.compression.distill.step import (
    DistillStep,
    build_distill_step,
)
from distillsr.compression.distill.teacher import load_teacher
from distillsr.errors import DistillsrError
from distillsr.training.interrupt import TrainingStopped
from distillsr.training.loop import (
    LoopHooks,
    LoopSettings,
    ScaledInput,
    StepRecipe,
    WithOwnedModules,
    build_optimizer,
    run_loop,
)
from distillsr.training.losses import PixelLoss
from distillsr.training.schedules import Schedule

CPU = torch.device("cpu")


def distill(student_model, teacher, pairs, stream, *, iterations: int, print_every: int, lr: float = 2e-3,
            checkpoint=None, stop=lambda: None, start: int = 0, step=None, optimizer=None):
    """``iterations`` of :func:`run_loop` with pixel (HR) + teacher-output + feature terms; the logged rows."""
    network = student_model.network
    model = ScaledInput(network, student_model.input_range) if student_model.input_range != 1.0 else network
    step = step or build_distill_step(model, teacher, pairs, scale=student_model.scale, seed=0)
    optimizer = optimizer or build_optimizer("adam", [*network.parameters(), *step.adapters.parameters()], lr=lr)
    terms = [PixelLoss("l1", 0.5), TeacherOutputLoss("l1"), FeatureLoss(pairs, 1.0)]
    rows = {}
    schedule = Schedule("constant", lr, iterations)
    settings = LoopSettings(iterations=iterations, schedule=schedule, print_every=print_every)
    hooks = LoopHooks(log=lambda i, m: rows.setdefault(i, m), checkpoint=checkpoint, stop=stop)
    run_loop(model, stream, stream, optimizer, StepRecipe(terms, forward=step), settings,
             hooks, device=CPU, start_iteration=start)
    return rows, step, optimizer


def assert_distillation_losses_fall(rows: dict, factor: float) -> None:
    first, last = rows[min(rows)], rows[max(rows)]
    for name in ("teacher_l1", "features"):
        assert last[name] < factor * first[name], f"{name}: {first[name]:.4f} -> {last[name]:.4f}"


class FakeDDP(torch.nn.Module):
    """What the step sees of DistributedDataParallel: a ``module`` it forwards to."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)


def test_inside_the_owned_modules_wrapper_the_step_gives_the_same_outputs(student, tiny_teacher_file, patches):
    """The engine's way: the student pass runs in WithOwnedModules' forward (under DDP, inside it)."""
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    rfdn = student("e-rfdn")
    pairs = (AnchorPair("B1", "block_1"), AnchorPair("B2", "block_2", 0.5, "l2"))
    scaled = ScaledInput(rfdn.network, 255.0)
    step = build_distill_step(scaled, teacher, pairs, scale=4, seed=0)
    wrapped = FakeDDP(WithOwnedModules(scaled, step.owned, step.student_forward))
    assert {n for n, _ in wrapped.named_parameters()} >= {"module.owned.adapters.B1:block_1.weight"}
    batch = next(patches())
    inside, direct = step(wrapped, batch), step(scaled, batch)
    assert torch.equal(inside.sr, direct.sr) and torch.equal(inside.extras["teacher_sr"], direct.extras["teacher_sr"])
    for key, (adapted, taught) in direct.extras["features"].items():
        assert torch.equal(inside.extras["features"][key][0], adapted)
        assert torch.equal(inside.extras["features"][key][1], taught)
    with pytest.raises(DistillsrError, match="must run DistillStep.student_forward as its forward .it returned Tensor"):
        step(FakeDDP(WithOwnedModules(scaled, step.owned)), batch)


def test_distillation_losses_fall_on_a_tiny_run(student, tiny_teacher_file, patches):
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    pairs = (AnchorPair("block_1", "block_1"), AnchorPair("block_2", "block_2", 0.5, "l2"))
    torch.manual_seed(0)
    rows, step, _ = distill(student(), teacher, pairs, patches(), iterations=60, print_every=10)
    assert sorted(rows) == [10, 20, 30, 40, 50, 60]
    assert_distillation_losses_fall(rows, 0.6)
    assert set(step.adapters.keys()) == {"block_1:block_1", "block_2:block_2"}


def test_distillation_from_the_official_dipnet_falls(student, patches):
    teacher = load_teacher("dipnet", official_weights("dipnet", "DIPNet.pth"), scale=4)
    pairs = (AnchorPair("block_1", "block_1"), AnchorPair("block_2", "block_4"))
    rows, _, _ = distill(student(), teacher, pairs, patches(), iterations=80, print_every=20)
    assert_distillation_losses_fall(rows, 0.8)
    assert rows[80]["l1"] < 0.6 * rows[20]["l1"], "learning the teacher's SR brings the student towards HR too"


def test_a_0_255_student_distils_through_scaled_input(student, save_model, patches):
    teacher = load_teacher(None, save_model("e-rfdn", 4, dict(channels=8, num_blocks=2)), scale=4)
    rfdn = student("e-rfdn")
    assert rfdn.input_range == 255.0
    pairs = (AnchorPair("B1", "B1"), AnchorPair("B2", "B2", 2.0))
    torch.manual_seed(0)
    rows, step, _ = distill(rfdn, teacher, pairs, patches(), iterations=60, print_every=10)
    assert_distillation_losses_fall(rows, 0.6)

    # Equal widths: identity adapters, so the captured feature is the bare network's, divided by 255.
    batch = next(patches())
    model = ScaledInput(rfdn.network, 255.0)
    outputs = step(model, batch)
    network = rfdn.network
    with torch.no_grad():
        raw = network.B1(network.fea_conv(batch["lr"] * 255))
        student_feature, teacher_feature = outputs.extras["features"]["B1:B1"]
        assert torch.allclose(student_feature, raw / 255, atol=1e-5)
        assert torch.allclose(teacher_feature, teacher(batch["lr"], ["B1"]).features["B1"])
        assert torch.allclose(outputs.sr, model(batch["lr"]))


def test_the_teacher_stays_frozen_through_training(student, tiny_teacher_file, patches):
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    before = {k: v.clone() for k, v in teacher.model.network.state_dict().items()}
    pairs = (AnchorPair("block_2", "block_2"),)
    _, step, _ = distill(student(), teacher, pairs, patches(), iterations=5, print_every=5)
    network = teacher.model.network
    assert not network.training and not any(p.requires_grad for p in network.parameters())
    assert all(p.grad is None for p in network.parameters()), "no gradient ever reached the teacher"
    after = network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the teacher's weights did not change"
    outputs = step(student().network, next(patches()))
    adapted, taught = outputs.extras["features"]["block_2:block_2"]
    assert outputs.extras["teacher_sr"].grad_fn is None and taught.grad_fn is None
    assert outputs.sr.grad_fn is not None and adapted.grad_fn is not None


def test_the_adapters_learn_and_hooks_do_not_outlive_a_step(student, tiny_teacher_file, patches):
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    pairs = (AnchorPair("block_1", "block_1"),)
    tiny = student()
    step = build_distill_step(tiny.network, teacher, pairs, scale=4, seed=0)
    initial = step.adapters["block_1:block_1"].weight.clone()
    distill(tiny, teacher, pairs, patches(), iterations=3, print_every=3, step=step)
    assert not torch.equal(step.adapters["block_1:block_1"].weight, initial)
    for network in (tiny.network, teacher.model.network):
        assert not any(m._forward_hooks for m in network.modules())


def test_a_split_run_with_restored_adapters_is_bit_identical(student, tiny_teacher_file, patches):
    """What a resumable distill stage needs of these pieces: seeded adapters whose state reloads."""
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    pairs = (AnchorPair("block_1", "block_1"), AnchorPair("block_2", "block_2", 0.5, "l2"))
    whole = student()
    whole_rows, whole_step, _ = distill(whole, teacher, pairs, patches(), iterations=6, print_every=1)

    saved = {}
    first = student()
    stream = patches()
    first_step = build_distill_step(first.network, teacher, pairs, scale=4, seed=0)

    def checkpoint(iteration: int, state: dict) -> None:  # what the stage will save: the loop's state + adapters
        saved.update(copy.deepcopy(state), adapters=copy.deepcopy(first_step.adapters.state_dict()))

    with pytest.raises(TrainingStopped):
        distill(first, teacher, pairs, stream, iterations=6, print_every=1, step=first_step, checkpoint=checkpoint,
                stop=lambda: signal.SIGINT if stream.position >= 3 else None)
    state = saved
    assert state["iteration"] == 3

    resumed = student(seed=99)
    resumed.network.load_state_dict(state["model"])
    step = build_distill_step(resumed.network, teacher, pairs, scale=4, seed=0)
    step.adapters.load_state_dict(state["adapters"])
    optimizer = build_optimizer("adam", [*resumed.network.parameters(), *step.adapters.parameters()], lr=2e-3)
    optimizer.load_state_dict(state["optimizer"])
    stream = patches()
    stream.load_state_dict(state["sampler"])
    rows, _, _ = distill(resumed, teacher, pairs, stream, iterations=6, print_every=1, start=3, step=step,
                         optimizer=optimizer)
    for key, tensor in whole.network.state_dict().items():
        assert torch.equal(tensor, resumed.network.state_dict()[key]), key
    for key, tensor in whole_step.adapters.state_dict().items():
        assert torch.equal(tensor, step.adapters.state_dict()[key]), key
    for iteration in (4, 5, 6):
        rows[iteration].pop("seconds"), whole_rows[iteration].pop("seconds")
        assert rows[iteration] == whole_rows[iteration], "the same losses, term by term"


def test_refusals(student, tiny_teacher_file, save_model):
    teacher = load_teacher(None, tiny_teacher_file)
    with pytest.raises(DistillsrError, match="unknown student anchor 'block_9' in the student dipnet"):
        build_distill_step(student().network, teacher, [AnchorPair("block_9", "block_1")],
                           student_name="the student dipnet")
    with pytest.raises(DistillsrError, match="upscales x4 but the student upscales x2"):
        build_distill_step(student(scale=2).network, teacher, [], scale=2)
    with pytest.raises(DistillsrError, match="needs adapters"):
        DistillStep(teacher, [AnchorPair("block_1", "block_1")])
    with pytest.raises(DistillsrError, match="unknown teacher anchor 'B1'"):
        DistillStep(teacher, [AnchorPair("block_1", "B1")], adapters=torch.nn.ModuleDict())


def test_output_distillation_alone_needs_no_anchors(student, tiny_teacher_file, patches):
    teacher = load_teacher(None, tiny_teacher_file)
    step = build_distill_step(student().network, teacher, [], scale=4)
    outputs = step(student().network, next(patches()))
    assert set(outputs.extras) == {"teacher_sr"} and outputs.extras["teacher_sr"].shape == outputs.sr.shape
    assert len(step.adapters) == 0


DDP_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    from torch.nn.parallel import DistributedDataParallel as DDP
    from distillsr.compression.distill.anchors import AnchorPair
    from distillsr.compression.distill.losses import FeatureLoss, TeacherOutputLoss
    from distillsr.compression.distill.step import build_distill_step
    from distillsr.compression.distill.teacher import load_teacher
    from distillsr.models.zoo import build_model
    from distillsr.training.distributed import init_distributed, process_info, shutdown
    from distillsr.training.loop import (LoopHooks, LoopSettings, ScaledInput, StepRecipe, WithOwnedModules,
                                         build_optimizer, run_loop)
    from distillsr.training.schedules import Schedule

    info = process_info()
    init_distributed(info, torch.device("cpu"))
    torch.manual_seed(0)
    student = build_model("e-rfdn", 4, channels=8, num_blocks=2)
    teacher = load_teacher(None, sys.argv[1], scale=4)
    pairs = (AnchorPair("B1", "block_1"), AnchorPair("B2", "block_2"))
    scaled = ScaledInput(student.network, 255.0)
    step = build_distill_step(scaled, teacher, pairs, scale=4, seed=0)
    model = DDP(WithOwnedModules(scaled, step.owned, step.student_forward))  # as the engine wraps a stage's model
    optimizer = build_optimizer("adam", model.parameters(), lr=1e-2)

    class Stream:
        position = 0
        def state_dict(self): return {}
        def __next__(self):
            g = torch.Generator().manual_seed(100 * info.rank + self.position)  # each rank sees other data
            self.position += 1
            return {"lr": torch.rand(2, 3, 16, 16, generator=g), "hr": torch.rand(2, 3, 64, 64, generator=g)}

    stream = Stream()
    settings = LoopSettings(iterations=3, schedule=Schedule("constant", 1e-2, 3), print_every=3)
    terms = [TeacherOutputLoss(), FeatureLoss(pairs)]
    run_loop(model, stream, stream, optimizer, StepRecipe(terms, forward=step), settings, LoopHooks(),
             device=torch.device("cpu"))
    hooks = sum(len(m._forward_hooks) for m in student.network.modules())
    initial = build_distill_step(scaled, teacher, pairs, seed=0).adapters["B1:block_1"].weight
    moved = float((step.adapters["B1:block_1"].weight - initial).abs().sum())
    print(sum(float(p.double().sum()) for p in model.parameters()), hooks, moved > 0)
    shutdown(info)
    """
)


def test_under_ddp_the_ranks_keep_identical_students_and_adapters(tiny_teacher_file):
    ranks = run_two_ranks(DDP_SCRIPT, str(tiny_teacher_file), PYTHONPATH=str(REPO_ROOT / "src"))
    for code, _, err in ranks:
        assert code == 0, err[-3000:]
    outputs = [(out, err) for _, out, err in ranks]
    (checksum_0, hooks_0, moved_0), (checksum_1, hooks_1, moved_1) = (out.split() for out, _ in outputs)
    assert checksum_0 == checksum_1, "student and adapters identical on both ranks after different batches"
    assert hooks_0 == hooks_1 == "0" and moved_0 == moved_1 == "True"
