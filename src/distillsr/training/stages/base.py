"""What every stage kind implements: check before the run, run once, replay on resume, own extra modules.

The session makes one :class:`StageKind` per stage (the class its options name,
:func:`~distillsr.training.stages.runner.stage_runner`) before the run starts, asks each to
:meth:`~StageKind.check` its stage, then runs them in order, passing everything in (the
:class:`~distillsr.training.stages.context.StageContext`, the stage's index and options, the
network as the previous stage left it, the training state to resume from). Its result is a
:class:`StageResult`, the only way a stage hands anything on (the network, its metrics, what a
resume must replay, the hyperparameters that now describe the network). Torch-free at import
(annotations only).

Two things a stage may need beyond training the network, both designed for compression stages:

* **Modules of its own** (a distillation stage's 1x1 adapters): :meth:`StageKind.owned_modules`
  builds them; a training stage optimises them with the network, keeps them inside the module that
  DistributedDataParallel wraps, and saves and restores them in its training states under
  ``state["owned"][name]`` (:meth:`StageKind.owned_state`, :meth:`StageKind.restore_owned`).
  They are not part of the network and never reach a model file.
* **A change of architecture** (folding, pruning): a resumed run rebuilds the network from the
  recipe, then asks every finished stage to :meth:`StageKind.replay` its change, so the weights
  in the training state fit. A change that depends on the weights (pruned widths) cannot be
  recomputed from the options alone: the stage returns it as :attr:`StageResult.record` (plain
  data), every later training state carries it, and ``replay`` gets it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from torch import nn

    from distillsr.training.recipe.stages import StageConfig
    from distillsr.training.stages.context import StageContext


@dataclass
class StageResult:
    """What a finished stage hands on.

    ``network``: the model for the next stage (the same object, trained, or a new one: folded,
    pruned). ``metrics``: its last logged values (the run's summary shows them). ``iterations``:
    optimizer steps taken in *this* process's run of the stage (fewer after a resume).
    ``record``: plain data (dicts, lists, numbers, strings) that :meth:`StageKind.replay` needs to
    rebuild the change of architecture on resume; None when the options suffice.
    ``model_kwargs``: hyperparameters that describe the changed network in every later model file
    (e.g. pruned widths, trained widths), merged over the recipe's by the session; None when the
    description does not change. The only lasting channel: a stage never writes
    ``context.model_kwargs`` (its own model files written mid-stage get the same values through the
    ``model_kwargs`` argument of the context's validator and checkpoint writer).
    """

    network: nn.Module
    metrics: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    record: dict[str, Any] | None = None
    model_kwargs: dict[str, Any] | None = None


class StageKind:
    """Base of a stage kind. Subclasses implement :meth:`run`; the options class names the subclass."""

    def check(self, context: StageContext, index: int, config: StageConfig) -> None:
        """Refuse the stage before the run starts, for reasons the options alone cannot show.

        Called for every stage of the recipe, in order, before the first stage runs and before the
        output folder is claimed (a resumed run checks its finished stages too, as reading the
        recipe did). For checks that need a model or a file's contents (a teacher that loads, anchors
        that exist); checks of the options alone belong in the config (``__post_init__``,
        ``check_in_recipe``), where reading the recipe runs them. No stage has run yet, so the
        network a later stage will see does not exist: build what a check needs from
        ``context.recipe`` (on the meta device where possible). Raise
        :class:`~distillsr.config.errors.ConfigError` with the path from the recipe's root
        (``stages.<index>.<key>``). The default checks nothing.
        """

    def run(
        self, context: StageContext, index: int, config: StageConfig, network: nn.Module, resume: dict | None
    ) -> StageResult:
        """Do the stage's work on ``network`` (on ``context.device``) and return the network for the next.

        ``resume``: the training state this stage saved before the run stopped (its keys: those of
        :func:`distillsr.training.loop.run_loop`'s states, ``stage``, ``best_psnr``, and whatever
        this stage added), or None for a fresh start. A stage that cannot be interrupted mid-way
        (a fold) never saves one and always gets None.
        """
        raise NotImplementedError

    def replay(self, network: nn.Module, config: StageConfig, record: Mapping[str, Any] | None = None) -> nn.Module:
        """Re-apply this finished stage's change of architecture (not its training) on resume.

        The default changes nothing, which is right for a stage that only trains. ``record`` is
        what :meth:`run` returned as :attr:`StageResult.record` (None if it returned none).
        """
        return network

    def owned_modules(self, context: StageContext, config: StageConfig, network: nn.Module) -> dict[str, nn.Module]:
        """Trainable modules this stage adds beside the network, by name (e.g. ``{"adapters": ...}``).

        Built fresh at the start of the stage (seeded by the run), on ``context.device``; the
        default is none. They live only as long as the stage.
        """
        return {}

    def owned_state(self, owned: Mapping[str, nn.Module]) -> dict[str, dict]:
        """Their weights for a training state (``state["owned"]``)."""
        return {name: module.state_dict() for name, module in owned.items()}

    def restore_owned(self, owned: Mapping[str, nn.Module], resume: Mapping[str, Any]) -> None:
        """Load their weights back from a training state written by this stage."""
        saved = resume.get("owned") or {}
        missing = sorted(set(owned) - set(saved))
        if missing:
            raise DistillsrError(
                f"the training state has no weights for this stage's {', '.join(missing)}; "
                "it was written by another version of the recipe"
            )
        for name, module in owned.items():
            module.load_state_dict(saved[name], strict=True)
