"""Making models smaller: stage kinds that plug into the training engine, each config beside its runner.

:mod:`.distill` (teacher distillation), :mod:`.pruning` (structured pruning), :mod:`.contrastive`
(contrastive self-distillation of slimmable networks). Each holds a torch-free ``config`` module
(the stage's options, which name their runner) and a ``stage`` module (the runner); the table that
lets a recipe use them is :mod:`distillsr.stages`, above this package and the engine. Nothing here
imports that table or the commands.
"""
