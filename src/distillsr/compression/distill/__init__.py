"""Teacher distillation as pieces a training stage plugs in: a teacher, anchors, adapters, losses, a step.

* :mod:`.teacher` — :func:`~.teacher.load_teacher`: any zoo model with weights or checkpoint, frozen,
  called on [0, 1] LR for its SR and anchor features;
* :mod:`.anchors` — module paths whose outputs are compared, found and checked on the meta device,
  captured with hooks for one forward pass;
* :mod:`.adapters` — learned 1x1 maps from student to teacher widths (seeded, stable names);
* :mod:`.losses` — output and feature distillation terms beside the engine's pixel losses;
* :mod:`.step` — :func:`~.step.build_distill_step`: the ``StepRecipe.forward`` of a distill stage.

Nothing is re-exported here, so importing one piece does not import the others.
"""
