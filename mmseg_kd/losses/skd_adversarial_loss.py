# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.random_state import CheckpointedGenerator
from .adversarial import AdversarialDistillLoss, Critic, CriticNetwork
from .utils import check_same_shape

_GAN_TYPES = ('wgan-gp', 'hinge')


def generator_loss(student_scores: Tensor) -> Tensor:
    """-mean D(student): the student's adversarial term (both GAN types)."""
    return -student_scores.mean()


def critic_loss(student_scores: Tensor, teacher_scores: Tensor,
                gan_type: str) -> Tensor:
    """WGAN: mean D(S) - mean D(T). Hinge: mean ReLU(1 - D(T)) +
    mean ReLU(1 + D(S))."""
    if gan_type == 'wgan-gp':
        return student_scores.mean() - teacher_scores.mean()
    return F.relu(1.0 - teacher_scores).mean() + F.relu(1.0 +
                                                        student_scores).mean()


def gradient_penalty(score: Callable[[Tensor], Tensor],
                     student: Tensor,
                     teacher: Tensor,
                     alpha: Optional[Tensor] = None) -> Tensor:
    """mean_b (||g_b||_2 - 1)^2 with g = d(sum of all scores of the batch) /
    d x_hat at x_hat = alpha T + (1 - alpha) S, alpha ~ U(0, 1) per sample.

    ``student``, ``teacher`` and ``score`` are the points and the score
    function of the space the penalty is taken in
    (:meth:`CriticNetwork.penalty_inputs`): the raw logits (SKD master,
    BatchNorm preprocessing inside the graph; the batch statistics couple
    the samples as in the reference) or the preprocessed image-and-softmax
    input (``preprocess='softmax_image'``, the CVPR'19 variant).
    """
    if alpha is None:
        alpha = torch.rand(
            student.shape[0],
            1,
            1,
            1,
            device=student.device,
            dtype=student.dtype)
    point = (alpha * teacher + (1 - alpha) * student).detach()
    point.requires_grad_(True)
    scores = score(point)
    grad, = torch.autograd.grad(scores.sum(), point, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0)**2).mean()


class SKDCritic(Critic):
    """The critic of :class:`SKDAdversarialLoss`: a discriminator network
    and its WGAN-GP (or hinge) objective.

    Args:
        net (CriticNetwork): The discriminator (``SAGANDiscriminator``).
        gan_type (str): ``'wgan-gp'`` or ``'hinge'``.
        d_loss_weight (float): lambda_d of the critic's loss.
        gp_weight (float): lambda_gp (0: no gradient penalty).
        seed (int): Seed of the critic's own generator for the per-sample
            interpolation weights of the penalty (its state is
            checkpointed, so a resumed run draws what the uninterrupted one
            would have).
    """

    def __init__(self,
                 net: CriticNetwork,
                 gan_type: str,
                 d_loss_weight: float,
                 gp_weight: float,
                 seed: int = 0) -> None:
        super().__init__()
        if not isinstance(net, CriticNetwork):
            raise TypeError(
                f'The discriminator of SKDAdversarialLoss must be a '
                f'CriticNetwork (mmseg_kd.losses); {type(net).__name__} is '
                'not: subclass it (its default penalty_inputs takes the '
                'gradient penalty on the raw maps).')
        self.net = net
        self.gan_type = gan_type
        self.d_loss_weight = d_loss_weight
        self.gp_weight = gp_weight
        self.penalty_rng = CheckpointedGenerator(seed)

    def forward(self, maps: Tensor, image: Optional[Tensor] = None) -> Tensor:
        return self.net(maps, image)

    def loss(self,
             student: Tensor,
             teacher: Tensor,
             image: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The weighted terms ``d`` (and ``gp``) on detached maps, in
        float32 with autocast off."""
        student = student.detach().float()
        teacher = teacher.detach().float()
        image = None if image is None else image.detach().float()
        with torch.autocast(student.device.type, enabled=False):
            terms = dict(d=self.d_loss_weight * critic_loss(
                self.net(student, image), self.net(teacher, image),
                self.gan_type))
            if self.gp_weight > 0:
                alpha = torch.rand((student.shape[0], 1, 1, 1),
                                   generator=self.penalty_rng.generator)
                alpha = alpha.to(student.device)
                s, t, score = self.net.penalty_inputs(student, teacher, image)
                terms['gp'] = self.d_loss_weight * self.gp_weight * \
                    gradient_penalty(score, s, t, alpha)
        return terms

    def extra_repr(self) -> str:
        return (f'gan_type={self.gan_type!r}, d_loss_weight='
                f'{self.d_loss_weight}, gp_weight={self.gp_weight}')


@MODELS.register_module()
class SKDAdversarialLoss(AdversarialDistillLoss):
    """SKD holistic (adversarial) distillation (Liu et al., "Structured
    Knowledge Distillation for Semantic Segmentation", CVPR 2019 / TPAMI
    2020).

    A discriminator D (``SAGANDiscriminator``) learns to tell the teacher's
    segmentation maps from the student's; the student learns to fool it.

    * student term (this loss's value): ``loss_weight * (-mean D(Q^S))``;
    * discriminator terms (:class:`SKDCritic`), one D step after each
      student step, on detached maps: ``d = d_loss_weight * (mean D(Q^S) -
      mean D(Q^T))`` (WGAN) or ``d_loss_weight * (mean ReLU(1 - D(Q^T)) +
      mean ReLU(1 + D(Q^S)))`` (hinge), plus ``gp = d_loss_weight *
      gp_weight * GP`` (see :func:`gradient_penalty`).

    Defaults are SKD master's: WGAN-GP, loss_weight (lambda_d for G) 0.1,
    d_loss_weight 0.1, gp_weight 10. IFVD/CIRKD use loss_weight 0.001 (and
    CIRKD hinge, no gradient penalty). The critic lives in
    ``model.discriminator``, with its own optimizer (the ``discriminator``
    entry of optim_wrapper) and learning-rate schedule. D and both losses
    run in float32, also under AMP.

    Args:
        discriminator (dict): Discriminator config, e.g.
            ``dict(type='SAGANDiscriminator', preprocess='bn')``;
            ``in_channels`` is filled in from the student's maps (plus 3 for
            ``preprocess='softmax_image'``, which also sees the image).
        gan_type (str): ``'wgan-gp'`` or ``'hinge'``.
        d_loss_weight (float): lambda_d of the discriminator loss (0.1).
        gp_weight (float, optional): lambda_gp (10 for WGAN-GP, 0 for hinge
            when None).
        seed (int): Seed of the critic's generator for the gradient
            penalty's interpolation weights.
        loss_weight (float): Weight of the student term (0.1).
    """

    def __init__(self,
                 discriminator: dict,
                 gan_type: str = 'wgan-gp',
                 d_loss_weight: float = 0.1,
                 gp_weight: Optional[float] = None,
                 seed: int = 0,
                 loss_weight: float = 0.1) -> None:
        super().__init__(discriminator, loss_weight)
        if gan_type not in _GAN_TYPES:
            raise ValueError(f'gan_type must be one of {_GAN_TYPES}, got '
                             f'{gan_type!r}.')
        self.gan_type = gan_type
        self.d_loss_weight = d_loss_weight
        self.gp_weight = (10.0 if gan_type == 'wgan-gp' else 0.0) \
            if gp_weight is None else gp_weight
        self.seed = seed

    def build_critic(self, in_channels: int) -> SKDCritic:
        cfg = dict(self.discriminator_cfg)
        image_channels = 3 if cfg.get('preprocess') == 'softmax_image' else 0
        cfg.setdefault('in_channels', in_channels + image_channels)
        return SKDCritic(
            MODELS.build(cfg), self.gan_type, self.d_loss_weight,
            self.gp_weight, self.seed)

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_shape(student, teacher, 'SKDAdversarialLoss', 'maps')

    def generator_loss(self, scores: Tensor) -> Tensor:
        return generator_loss(scores)

    def extra_repr(self) -> str:
        return (f'gan_type={self.gan_type!r}, loss_weight={self.loss_weight}'
                f', d_loss_weight={self.d_loss_weight}, '
                f'gp_weight={self.gp_weight}')
