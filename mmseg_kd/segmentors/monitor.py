# Copyright (c) mmseg_kd contributors. All rights reserved.
"""What training logs about each distillation term besides its value."""
import math
from typing import Dict, Iterable, Mapping, Optional, Sequence

from torch import Tensor

from ..distill.calibration import flat_gradient, gradient_cosine
from ..distill.distiller import DistillOutput, resize_labels
from ..utils.log_keys import (AGREEMENT, COSINE, FACTOR, GRAD_RATIO, RATIO,
                              WEIGHT)


def pixel_agreement(student: Tensor,
                    teacher: Tensor,
                    labels: Optional[Tensor] = None,
                    ignore_index: int = 255) -> float:
    """Percentage of pixels where the student's and the teacher's argmax
    classes agree, ignored pixels left out (all pixels without labels)."""
    same = student.argmax(dim=1) == teacher.argmax(dim=1)
    if labels is not None:
        valid = labels != ignore_index
        if not bool(valid.any()):
            return float('nan')
        same = same[valid]
    return 100.0 * float(same.float().mean())


def gradient_alignment(task: Tensor, terms: Mapping[str, Tensor],
                       params: Sequence[Tensor]) -> Dict[str, tuple]:
    """For each term, (cosine, norm ratio) between its gradient and the
    gradient of ``task`` on ``params`` (the graph is kept).

    The cosine is negative when the term pulls against the task; the norm
    ratio ``|grad term| / |grad task|`` says how strongly the term steers
    the student next to the task loss (it includes the term's weight).
    Terms without a graph are left out.
    """

    base = flat_gradient(task, params)
    base_norm = base.norm()
    out = {}
    for name, value in terms.items():
        if not value.requires_grad:
            continue
        grad = flat_gradient(value, params)
        ratio = float(grad.norm() /
                      base_norm) if base_norm > 0 else float('nan')
        out[name] = (gradient_cosine(base, grad), ratio)
    return out


class TrainingMonitor:
    """Training diagnostics of a distillation, as scalars for the log
    (TensorBoard, tools/plot_loss_terms.py):

    * ``kd_ratio/<term>``: the term over the student's task loss, every
      step;
    * ``kd_agreement/<term>``: for terms between logits, the percentage of
      pixels where the student's and the teacher's argmax agree (ignored
      pixels excluded), every step;
    * ``kd_factor/<term>`` and ``kd_weight/<term>``: schedule factors and
      calibrated weights;
    * ``kd_cosine/<term>``: every ``grad_cosine_interval`` iterations (off
      by default), the cosine between the task loss's gradient and the
      term's on the student's parameters (negative: the term fights the
      task), and ``kd_grad_ratio/<term>``, the norm of the term's gradient
      over the task loss's. Costs one backward pass per term and one for
      the task loss on those iterations.

    Args:
        logit_terms (dict): Term name to (student tensor, teacher tensor)
            for the terms between logits.
        grad_cosine_interval (int, optional): Iterations between gradient
            cosines; None: never.
        ignore_index (int): Ignored label. Defaults to 255.
    """

    def __init__(self,
                 logit_terms: Mapping[str, tuple],
                 grad_cosine_interval: Optional[int] = None,
                 ignore_index: int = 255) -> None:
        if grad_cosine_interval is not None and int(grad_cosine_interval) < 1:
            raise ValueError('monitor.grad_cosine_interval must be >= 1 or '
                             f'None, got {grad_cosine_interval}.')
        self.logit_terms = dict(logit_terms)
        self.grad_cosine_interval = grad_cosine_interval
        self.ignore_index = ignore_index

    def wants_gradients(self, iteration: int) -> bool:
        """Whether gradient cosines are due at ``iteration``.

        Args:
            iteration (int): The training iteration.

        Returns:
            bool: True on every ``grad_cosine_interval``-th iteration;
            always False when the interval is None.
        """
        return (self.grad_cosine_interval is not None
                and iteration % self.grad_cosine_interval == 0)

    def scalars(self, out: DistillOutput, task: Tensor,
                labels: Optional[Tensor], iteration: int,
                params: Iterable[Tensor]) -> Dict[str, float]:
        """The diagnostics of one step.

        Args:
            out (DistillOutput): The distiller's output.
            task (Tensor): The student's total task loss (with its graph
                when gradient cosines are due).
            labels (Tensor, optional): (B, H, W) ground truth.
            iteration (int): The training iteration.
            params (Iterable[Tensor]): The student's trainable parameters
                (for the cosines).

        Returns:
            dict[str, float]: Log key (``kd_ratio/<term>``,
            ``kd_agreement/<term>``, ...) to its value.
        """
        logs = {f'{FACTOR}/{k}': v for k, v in out.factors.items()}
        logs.update({
            f'{WEIGHT}/{k}': v
            for k, v in out.weights.items() if not math.isnan(v)
        })  # logged once estimated
        task_value = float(task.detach())
        for name, value in out.terms.items():
            logs[f'{RATIO}/{name}'] = float(value.detach()) / task_value \
                if task_value else float('nan')
        done: Dict[tuple, float] = {}
        for name, pair in self.logit_terms.items():
            if pair not in done:
                s, t = out.student[pair[0]], out.teacher[pair[1]]
                lab = None if labels is None else resize_labels(
                    labels, s.shape[-2:])
                done[pair] = pixel_agreement(s.detach(), t.detach(), lab,
                                             self.ignore_index)
            logs[f'{AGREEMENT}/{name}'] = done[pair]
        if self.wants_gradients(iteration) and task.requires_grad:
            alignment = gradient_alignment(task, out.terms, list(params))
            for k, (cosine, ratio) in alignment.items():
                logs[f'{COSINE}/{k}'] = cosine
                logs[f'{GRAD_RATIO}/{k}'] = ratio
        return logs
