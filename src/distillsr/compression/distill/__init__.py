"""Teacher distillation as pieces a training stage plugs in: a teacher, anchors, adapters, losses, a step.

* :mod:`.teacher` — :func:`~.teacher.load_teacher`: any zoo model with weights or checkpoint, frozen,
  called on [0, 1] LR for its SR and anchor features;
* :mod:`.anchors` — module paths whose outputs are compared, found and checked on the meta device,
  captured with hooks for one forward pass;
* :mod:`.adapters` — learned 1x1 maps from student to teacher widths (seeded, stable names);
* :mod:`.losses` — output and feature distillation terms beside the engine's pixel losses;
* :mod:`.step` — :func:`~.step.build_distill_step`: the ``StepRecipe.forward`` of a distill stage;
* :mod:`.config` — the stage's options and its loss terms (torch-free, read with the recipe);
* :mod:`.checks` — the stage's pre-run checks: the teacher loads and fits, every anchor exists;
* :mod:`.stage` — ``kind: distill``, the runner its options name.

Nothing is re-exported here, so importing one piece does not import the others.
"""
