"""Width policies: difficulty-aware dynamic inference for channel-splitting (slimmable) models.

(Not :mod:`distillsr.nn.dynamic`, DDistill-SR's dynamic convolutions: this package chooses the
*width* a whole network runs at, per input.)

Dynamic-CSD (Zhang et al., Pattern Recognition 2024) runs a switchable-width network at the width
an input deserves: a smooth, easy input goes through a narrow branch, a textured one through the
full network. Three parts, one module each, used by ``distillsr calibrate``, ``eval --dynamic``
and ``upscale --dynamic``:

* :mod:`.scores` — how hard an LR input is: a small protocol (a callable on an LR image returning
  a float, higher = easier) and CSD's implementation, the PSNR of the image against its own
  bicubic down-up round trip;
* :mod:`.policy` — thresholds on that score mapped to widths, and where a checkpoint stores them;
* :mod:`.costs` — the MACs each width costs per input pixel and a chooser that applies a policy
  to images or tiles and counts what was spent;
* :mod:`.calibration` — thresholds found on a folder for a MACs budget or a maximum PSNR loss;
* :mod:`.baselines` — fixed-width mixes and the oracle a policy is compared with.

Scoring with a policy is the one evaluation loop with ``width_policy=`` (:func:`distillsr.api.evaluate`).

Nothing is imported here, so importing the package costs nothing.
"""
