"""A pruned network as a zoo model: its hyperparameters are the unpruned build's plus the widths.

The zoo rebuilds a pruned checkpoint by building the named model with its hyperparameters and
then narrowing the layers listed under ``pruned_widths`` (:data:`~distillsr.models.pruned_widths.PRUNED_WIDTHS`),
after which the state dict loads strictly. Keeping the widths among the hyperparameters (rather
than in a separate field) means every path that copies a model's hyperparameters (``convert``,
ONNX metadata, training checkpoints) carries them without knowing about pruning.
"""

from __future__ import annotations

from torch import nn

from distillsr.checkpoints.format import CheckpointInfo
from distillsr.console import get_logger
from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel
from distillsr.models.pruned_widths import PRUNED_WIDTHS, changed_widths
from distillsr.models.zoo import get_entry

log = get_logger(__name__)


def unpruned_kwargs(kwargs: dict) -> dict:
    return {key: value for key, value in kwargs.items() if key != PRUNED_WIDTHS}


def _same_layout(a: nn.Module, b: nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return list(first) == list(second) and all(first[k].shape == second[k].shape for k in first)


def deployed(model: SRModel) -> SRModel:
    """``model`` with every train-time block folded, and hyperparameters that rebuild the folded form.

    Pruning works on the deploy form (DIPNet prunes its reparameterized student: an RRRB's identity
    branch needs equal in/out widths). The zoo describes the folded form by ``deploy: true``
    (DDistill-SR) or ``block: plain`` (the DIPNet student); the rebuilt network is checked
    against the folded one tensor by tensor, so a model whose folded form the zoo cannot name is
    refused rather than saved as something that will not load.
    """
    from distillsr.nn.reparam import deploy, is_deployed

    if is_deployed(model.network):
        return model
    kwargs = dict(model.metadata.get("kwargs", {}))
    if "deploy" in kwargs:
        kwargs["deploy"] = True
    if kwargs.get("block") == "rrrb":
        kwargs["block"] = "plain"
    network = deploy(model.network)
    rebuilt = get_entry(model.name).build(model.scale, **kwargs)
    if not _same_layout(rebuilt, network):
        raise DistillsrError(
            f"{model.name} has train-time blocks, and its folded form is not a zoo configuration; "
            "fold it with a reparameterize stage and save that checkpoint first"
        )
    log.info(f"{model.name}: train-time blocks folded into their deploy form before pruning")
    metadata = {**model.metadata, "kwargs": kwargs, "form": "deploy"}
    return SRModel(network, model.name, model.scale, model.input_range, model.in_channels, metadata, model.min_size)


def pruned_checkpoint_info(model: SRModel, provenance: dict) -> CheckpointInfo:
    """The metadata of a pruned model: zoo name and hyperparameters plus the layers' new widths."""
    kwargs = unpruned_kwargs(model.metadata.get("kwargs", {}))
    reference = get_entry(model.name).build(model.scale, **kwargs)
    widths = changed_widths(reference, model.network)
    return CheckpointInfo(
        model=model.name,
        scale=model.scale,
        kwargs={**kwargs, PRUNED_WIDTHS: widths} if widths else kwargs,
        input_range=model.input_range,
        form="deploy",
        provenance=provenance,
    )
