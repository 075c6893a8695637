# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Dict, Mapping, Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

AdversarialInputs = Tuple[Tensor, Tensor, Optional[Tensor]]


class DiscriminatorSet(BaseModule):
    """The discriminators of a DistillationSegmentor's adversarial losses,
    keyed by loss name (``model.discriminator``; its own optimizer is the
    ``discriminator`` entry of ``optim_wrapper``).

    Its forward computes every discriminator loss in one call, so that under
    DDP the discriminators are one participant with one forward and one
    backward per step.

    Args:
        nets (dict): Loss name to discriminator.
        losses (dict): Loss name to the adversarial loss that owns it (not
            registered here: the losses live in the distiller).
    """

    def __init__(self, nets: Mapping[str, nn.Module],
                 losses: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleDict(nets)
        object.__setattr__(self, '_losses', dict(losses))

    def forward(self, inputs: Mapping[str, AdversarialInputs]
                ) -> Dict[str, Tensor]:
        """Args:
            inputs (dict): Loss name to (student, teacher, image or None),
                all detached.

        Returns:
            dict: ``<loss name>_<term>`` to weighted discriminator loss terms
            (e.g. ``loss_adv_d`` and ``loss_adv_gp``).
        """
        out = {}
        for name, (student, teacher, image) in inputs.items():
            terms = self._losses[name].discriminator_loss(
                self.nets[name], student, teacher, image)
            out.update({f'{name}_{k}': v for k, v in terms.items()})
        return out
