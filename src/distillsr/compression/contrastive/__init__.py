"""Contrastive self-distillation (CSD, Pro-CSD) of slimmable networks, as pieces a training stage plugs in.

* :mod:`.vgg` — VGG-19's features up to relu5_1 in torchvision's layout, written here (no torchvision);
* :mod:`.vgg_weights` — its ImageNet weights: a user's file or torchvision's, downloaded once and checked;
* :mod:`.loss` — CSD's contrastive term: student vs teacher-width output vs bicubic negatives, on VGG features;
* :mod:`.stage` — ``kind: csd`` and ``kind: pro-csd``: every branch width in one forward, the loss terms,
  validation at each width.

The stages' options are :mod:`.config` (torch-free, read with the recipe). Nothing is re-exported here, so
importing one piece does not import the others.
"""
