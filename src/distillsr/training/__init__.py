"""Training: the typed recipe (:mod:`.recipe`), the one loop with stages, losses, schedules, resume.

Nothing is re-exported here: the recipe types live in :mod:`distillsr.training.recipe` (light, no
torch at import, so ``distillsr train --print-config`` does not load the engine), the engine in
:mod:`.trainer` (the run) and :mod:`.loop` (the iterations), the stage kinds in :mod:`.stages`
(one class per kind, named by its options; the table of every kind is :mod:`distillsr.stages`).
"""
