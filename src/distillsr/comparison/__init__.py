"""``distillsr bench``: one table comparing models on quality and cost, measured the same way.

(The package is named for what it does, a comparison; ``benchmarks/`` at the repository root holds
timing scripts, and the image sets models are scored on are :mod:`distillsr.data.eval_sets`.)

A paper's comparison table mixes numbers measured on other machines, at other input sizes, under
other scoring protocols; this package measures every model here, with one set of settings, and
names them all (protocol, precision, input size, threads, device, library versions). Each file
has one job:

* :mod:`~distillsr.comparison.environment` — what machine and software the numbers come from;
* :mod:`~distillsr.comparison.precision` — a model running at fp32, bf16 or fp16 the way ``upscale`` runs it;
* :mod:`~distillsr.comparison.runner` — the measuring (reusing :mod:`distillsr.evaluation` and
  :mod:`distillsr.efficiency`: no second PSNR or FLOP counter);
* :mod:`~distillsr.comparison.ntire` — the NTIRE efficient-SR kit's columns and units;
* :mod:`~distillsr.comparison.tables` — Markdown, CSV and JSON;
* :mod:`~distillsr.comparison.plots` and :mod:`~distillsr.comparison.crops` — figures (matplotlib, optional).

Nothing here is imported by ``distillsr --help``; torch and matplotlib load inside functions.
"""
