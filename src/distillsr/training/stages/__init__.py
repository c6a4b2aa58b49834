"""Stage kinds of the training engine: the protocol, the context they run in, and the engine's own kinds.

A recipe is a list of stages; each stage's options (a
:class:`~distillsr.training.recipe.stages.StageConfig` subclass, torch-free, read from YAML) name
the class that runs them (a :class:`~distillsr.training.stages.base.StageKind`, by import path so
that reading a recipe never imports torch). The engine knows no table of kinds: the session asks
:func:`~distillsr.training.stages.runner.stage_runner` for the runner of each stage it meets, and
the one table a recipe is read with lives above the engine and the compression stage kinds
(:mod:`distillsr.stages`).

A stage sees its run only through a :class:`~distillsr.training.stages.context.StageContext`
(model description, device, processes, data, validation, logs, checkpoints), never through the
session's internals, and hands everything on through its
:class:`~distillsr.training.stages.base.StageResult`.

Modules: :mod:`.base` (the ``StageKind`` protocol and its result), :mod:`.runner` (options -> runner),
:mod:`.context` (what a stage may use), :mod:`.train` and :mod:`.reparameterize` (the engine's kinds),
:mod:`.init_weights` (a stage's ``init:`` weights), :mod:`.fold_check` (the fold's self-check).
"""
