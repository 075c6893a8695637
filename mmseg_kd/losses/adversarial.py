# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The contract of adversarial distillation losses and their critics."""
from typing import Callable, Dict, Optional, Tuple

from torch import Tensor, nn

from .base import DistillLoss


class CriticNetwork(nn.Module):
    """A network that scores segmentation maps: the trainable part of a
    critic (e.g. ``SAGANDiscriminator``).

    Subclasses implement ``forward(maps, image=None) -> scores`` and may
    override :meth:`penalty_inputs` when a gradient penalty belongs in
    another space than the raw maps.
    """

    def penalty_inputs(
        self,
        student: Tensor,
        teacher: Tensor,
        image: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
        """Where a gradient penalty is taken: the student's and teacher's
        points and the score function of that space.

        Args:
            student (Tensor): The student's maps.
            teacher (Tensor): The teacher's maps.
            image (Tensor, optional): The input image.

        Returns:
            tuple: (student point, teacher point, score function); by
            default the raw maps and this network (with the image).
        """
        return student, teacher, lambda x: self(x, image)


class Critic(nn.Module):
    """A trained critic of an adversarial loss: scores segmentation maps and
    knows its own training objective.

    Subclasses implement :meth:`forward` (scores, used frozen in the
    student's term) and :meth:`loss` (its weighted training terms on
    detached maps, used in the discriminator step).
    """

    def forward(self, maps: Tensor, image: Optional[Tensor] = None) -> Tensor:
        """Score segmentation maps.

        Args:
            maps (Tensor): (B, K, H, W) maps to score.
            image (Tensor, optional): The input image, for critics that
                look at it.

        Returns:
            Tensor: The critic's scores of ``maps``.
        """
        raise NotImplementedError

    def loss(self,
             student: Tensor,
             teacher: Tensor,
             image: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Weighted training terms by name (logged as
        ``<loss name>_<term>``)."""
        raise NotImplementedError


class AdversarialDistillLoss(DistillLoss):
    """Base of losses whose student term is the score of a trained critic.

    The segmentor builds one critic per such loss with :meth:`build_critic`
    and keeps it in ``model.discriminator`` with its own optimizer. In the
    student step it freezes the critic and passes it to this loss as
    ``critic=``; after the student update it trains the critic on the
    detached maps of that step with :meth:`Critic.loss`. The loss itself
    holds no reference to its critic.

    Args:
        discriminator (dict): Config of the critic's network.
        loss_weight (float): Weight of the student term.
    """

    adversarial = True
    #: ``image='<student tensor name>'``: the recorded input image, for
    #: critics that look at it.
    extra_inputs = ('image', )

    def __init__(self, discriminator: dict, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        self.discriminator_cfg = dict(discriminator)

    def build_critic(self, in_channels: int) -> Critic:
        """The critic for maps of ``in_channels`` channels."""
        raise NotImplementedError

    def generator_loss(self, scores: Tensor) -> Tensor:
        """The student's (unweighted) term from the critic's scores of its
        maps."""
        raise NotImplementedError

    def compute(self,
                student: Tensor,
                teacher: Tensor,
                labels: Optional[Tensor],
                critic: Optional[Critic] = None,
                image: Optional[Tensor] = None) -> Tensor:
        if critic is None:
            raise ValueError(
                f'{type(self).__name__} needs its critic (critic=...): the '
                'DistillationSegmentor builds it and passes it in.')
        return self.generator_loss(
            critic(student, None if image is None else image.float()))
