"""Official checkpoints of the papers' repositories, recognised by their key layout and converted.

Each family module exposes ``detect(state_dict) -> Conversion | None``: it recognises its own
layout, reads the hyperparameters from tensor shapes, and returns the state dict in distillsr's
layout. :mod:`distillsr.checkpoints.official.registry` lists them explicitly.
"""
