# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Row-wise KL between two similarity matrices, computed in row chunks.

Relational losses (CIRKD) compare, row by row, softmaxes of similarity
matrices ``S = Qs Ks^T / tau`` (student) and ``T = Qt Kt^T / tau``
(teacher) whose size is (rows x keys), e.g. 8192 x 8192 per image pair at
Cityscapes scale. Autograd would keep every chunk of them for the backward
pass, so chunking alone saves nothing. Here the gradient is written in
closed form and accumulated while the forward walks over row chunks:

.. math::
    L = c \\sum_r KL(\\mathrm{softmax}(T_r/\\kappa) \\|
                     \\mathrm{softmax}(S_r/\\kappa)), \\qquad
    \\frac{\\partial L}{\\partial S_r} = \\frac{c}{\\kappa}
        (\\mathrm{softmax}(S_r/\\kappa) - \\mathrm{softmax}(T_r/\\kappa))

so :math:`\\partial L/\\partial Q_s = G K_s / \\tau` and
:math:`\\partial L/\\partial K_s = G^T Q_s / \\tau` with G the row gradients.
Peak memory is O(chunk x keys) instead of O(rows x keys); the result and
its gradient equal the plain autograd computation.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


class _ChunkedRelationKL(torch.autograd.Function):

    @staticmethod
    def forward(ctx, qs: Tensor, ks: Tensor, qt: Tensor, kt: Tensor,
                tau: float, kappa: float, scale: float, chunk: int) -> Tensor:
        grad_qs = torch.zeros_like(qs) if qs.requires_grad else None
        grad_ks = torch.zeros_like(ks) if ks.requires_grad else None
        total = qs.new_zeros(())
        for start in range(0, qs.shape[0], chunk):
            rows = slice(start, start + chunk)
            s = qs[rows] @ ks.t() / (tau * kappa)
            t = qt[rows] @ kt.t() / (tau * kappa)
            log_ps = F.log_softmax(s, dim=1)
            log_pt = F.log_softmax(t, dim=1)
            pt = log_pt.exp()
            total += (pt * (log_pt - log_ps)).sum()
            if grad_qs is not None or grad_ks is not None:
                g = (log_ps.exp() - pt) * (scale / (tau * kappa))
                if grad_qs is not None:
                    grad_qs[rows] += g @ ks
                if grad_ks is not None:
                    grad_ks += g.t() @ qs[rows]
        ctx.save_for_backward(
            grad_qs if grad_qs is not None else qs.new_empty(0),
            grad_ks if grad_ks is not None else ks.new_empty(0))
        ctx.has = (grad_qs is not None, grad_ks is not None)
        return total * scale

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        grad_qs, grad_ks = ctx.saved_tensors
        has_qs, has_ks = ctx.has
        return (grad_qs * grad_out if has_qs else None,
                grad_ks * grad_out if has_ks else None, None, None, None, None,
                None, None)


def chunked_relation_kl(student_query: Tensor,
                        student_key: Tensor,
                        teacher_query: Tensor,
                        teacher_key: Tensor,
                        tau: float,
                        kappa: float = 1.0,
                        scale: float = 1.0,
                        chunk: Optional[int] = 1024) -> Tensor:
    """``scale * sum_r KL(softmax(T_r / kappa) || softmax(S_r / kappa))``
    with ``S = Qs Ks^T / tau`` and ``T = Qt Kt^T / tau``.

    Args:
        student_query (Tensor): (R, Cs) rows of the student side.
        student_key (Tensor): (N, Cs) keys of the student side (may be
            ``student_query`` itself; gradients of both are returned).
        teacher_query (Tensor): (R, Ct), no gradient.
        teacher_key (Tensor): (N, Ct), no gradient.
        tau (float): Similarity temperature.
        kappa (float): Softmax temperature of the KL. Defaults to 1.
        scale (float): Multiplier, e.g. 1 / R for a mean over rows.
        chunk (int, optional): Rows per chunk; None for all at once.

    Returns:
        Tensor: Scalar loss, differentiable w.r.t. the student tensors.
    """
    chunk = student_query.shape[0] if not chunk else int(chunk)
    return _ChunkedRelationKL.apply(student_query, student_key,
                                    teacher_query.detach(),
                                    teacher_key.detach(), float(tau),
                                    float(kappa), float(scale), max(chunk, 1))
