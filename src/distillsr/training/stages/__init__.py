"""Stage kinds of the training engine: one class per kind, listed in one table.

A recipe is a list of stages; each stage's ``kind`` names a row of
:data:`~distillsr.training.stages.table.STAGES`, which pairs the kind's options (a
:class:`~distillsr.training.recipe.stages.StageConfig` subclass, torch-free, read from YAML) with
the class that runs it (a :class:`~distillsr.training.stages.base.StageKind`, named by import path
so that reading a recipe never imports torch). The recipe reader's
:data:`~distillsr.training.recipe.STAGE_KINDS` is derived from that table.

A stage sees its run only through a :class:`~distillsr.training.stages.context.StageContext`
(model description, device, processes, data, validation, logs, checkpoints), never through the
session's internals.

Modules: :mod:`.table` (the kinds), :mod:`.base` (the ``StageKind`` protocol and its result),
:mod:`.context` (what a stage may use), :mod:`.train` and :mod:`.reparameterize` (the kinds),
:mod:`.init_weights` (a stage's ``init:`` weights), :mod:`.fold_check` (the fold's self-check).
"""

# The recipe package reads the table (its STAGE_KINDS), and the table names the recipe's config
# classes; importing the recipe first keeps that one-way whichever of the two is imported first.
import distillsr.training.recipe  # noqa: F401  (torch-free)
