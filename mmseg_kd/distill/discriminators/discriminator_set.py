# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Dict, Mapping, NamedTuple, Optional

from mmengine.model import BaseModule
from torch import Tensor, nn


class AdversarialInputs(NamedTuple):
    """What a critic is trained on after the student step: the detached
    maps of that step (and the image, for critics that see it).

    Attributes:
        student (Tensor): The student's maps, detached.
        teacher (Tensor): The teacher's maps.
        image (Tensor, optional): The student's input images, for critics
            conditioned on them.
    """
    student: Tensor
    teacher: Tensor
    image: Optional[Tensor] = None


class DiscriminatorSet(BaseModule):
    """The critics of a DistillationSegmentor's adversarial losses, keyed by
    loss name (``model.discriminator``; its own optimizer is the
    ``discriminator`` entry of ``optim_wrapper``).

    Its forward computes every critic's training terms in one call, so that
    under DDP the critics are one participant with one forward and one
    backward per step.

    Args:
        critics (dict): Loss name to critic
            (:class:`~mmseg_kd.losses.adversarial.Critic`).
    """

    def __init__(self, critics: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.critics = nn.ModuleDict(critics)

    def forward(self, inputs: Mapping[str,
                                      AdversarialInputs]) -> Dict[str, Tensor]:
        """Args:
            inputs (dict): Loss name to its :class:`AdversarialInputs`.

        Returns:
            dict: ``<loss name>_<term>`` to weighted critic terms (e.g.
            ``loss_adv_d`` and ``loss_adv_gp``).
        """
        out = {}
        for name, (student, teacher, image) in inputs.items():
            terms = self.critics[name].loss(student, teacher, image)
            out.update({f'{name}_{k}': v for k, v in terms.items()})
        return out
