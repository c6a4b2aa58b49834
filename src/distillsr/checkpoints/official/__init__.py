"""Official checkpoints of the papers' repositories, recognised by their key layout and converted.

Each family module names the keys its layout must have (``REQUIRED``) and exposes
``detect(state_dict) -> Conversion | None``, which sees only state dicts that passed the shared
checks of :mod:`.registry` (a non-empty dict of tensors, no ``module.`` prefix, ``REQUIRED``
present): it recognises its own layout, reads the hyperparameters from tensor shapes, checks every key and shape against the
network they build (:func:`~.conversion.check_layout`, shared by all families), and returns the
state dict in distillsr's layout. None means "not this family"; a state dict in the family's
layout that does not fit raises :class:`~.conversion.LayoutMismatch` naming the tensors.
:mod:`distillsr.checkpoints.official.registry` lists the families explicitly. A layout two families
share (RLFN and DIPNet, which differ in their input range) raises
:class:`~.conversion.AmbiguousLayout` with both readings. Released files are recognised by their
sha256 before any layout is read (:mod:`distillsr.checkpoints.official.known`).
"""
