# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Parameter-free combinations of several teachers' tensors into one
target (``distill.teacher_ensembles``)."""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


def mean_tempered_probabilities(logits: Sequence[Tensor],
                                tau: float = 1.0) -> Tensor:
    """tau * log(mean_i softmax(z_i / tau)) over the classes (dim 1): logits
    whose softmax at temperature tau is the mean of the teachers' tempered
    class distributions. Maps of other sizes are bilinearly resized to the
    first one's first."""
    size = logits[0].shape[-2:]
    log_probs = [
        F.log_softmax(
            (z if z.shape[-2:] == size else F.interpolate(
                z, size=size, mode='bilinear', align_corners=False)).float() /
            tau,
            dim=1) for z in logits
    ]
    mean = torch.logsumexp(
        torch.stack(log_probs), dim=0) - math.log(len(log_probs))
    return tau * mean


@MODELS.register_module()
class MeanTeacherProbabilities(nn.Module):
    """The mean of several teachers' tempered class probabilities, as
    logits that a loss on per-pixel class distributions (KD, SKD's
    pixel-wise term, DIST's inter-class relation) takes as its teacher:

    .. math::
        \\bar z = \\tau \\log \\frac{1}{T} \\sum_{i=1}^{T}
                  \\mathrm{softmax}(z_i / \\tau)

    so that softmax(z-bar / tau) is the ensemble's distribution (use the
    loss's tau here too). It is a mixture of per-pixel class distributions,
    not of CWD's per-channel spatial ones. Teachers must predict the same
    classes; maps of other strides are resized to the first teacher's. No
    parameters.

    Config (the output is a teacher tensor named by its key)::

        teacher_ensembles=dict(logits=dict(
            type='MeanTeacherProbabilities',
            inputs=['seg_b3.logits', 'psp.logits'], tau=1.0))

    Args:
        inputs (list[str]): The teachers' tensors (``<teacher>.<tensor>``).
        tau (float): Temperature. Defaults to 1.0.
    """

    def __init__(self, inputs: Sequence[str], tau: float = 1.0) -> None:
        super().__init__()
        if len(inputs) < 2:
            raise ValueError('MeanTeacherProbabilities combines at least two '
                             f'teacher tensors, got {list(inputs)}.')
        self.inputs = list(inputs)
        self.tau = float(tau)

    def forward(self, logits: Sequence[Tensor]) -> Tensor:
        """Combine the teachers' logits.

        Args:
            logits (Sequence[Tensor]): One (B, K, H_i, W_i) logit map per
                teacher, in the order of ``inputs``.

        Returns:
            Tensor: (B, K, H, W) ensemble logits at the first teacher's
            size, in float32.
        """
        classes = {z.shape[1] for z in logits}
        if len(classes) > 1 or any(z.dim() != 4 for z in logits):
            raise ValueError(
                'MeanTeacherProbabilities needs (B, K, H, W) logits of the '
                'same classes from every teacher, got shapes '
                f'{[tuple(z.shape) for z in logits]}.')
        return mean_tempered_probabilities(logits, self.tau)

    def extra_repr(self) -> str:
        return f'inputs={self.inputs}, tau={self.tau}'
