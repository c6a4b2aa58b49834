"""Making models smaller: teacher distillation (:mod:`.distill`) and structured pruning."""
