# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loss weights that set themselves: ``loss_weight=dict(type='Calibrated',
ratio=r)``."""
import math
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor

_MODES = ('value', 'grad')


class Calibration(NamedTuple):
    """How a term's weight is set on the first training steps.

    Attributes:
        ratio (float): The weighted term is ``ratio`` times the student's
            task loss (``on='value'``), or its gradient norm on the student's
            parameters is ``ratio`` times the task loss's (``on='grad'``).
        on (str): ``'value'`` or ``'grad'``.
        steps (int): Number of steps whose estimates are averaged.
    """
    ratio: float
    on: str = 'value'
    steps: int = 1


def parse_loss_weight(value: Union[float, dict],
                      term: str) -> Tuple[float, Optional[Calibration]]:
    """A loss entry's ``loss_weight``: a number, or
    ``dict(type='Calibrated', ratio=r, on='value'|'grad', steps=N)``.

    Returns:
        tuple: (the weight the loss module is built with, the calibration or
        None). A calibrated loss is built with weight 1; the distiller
        applies the calibrated weight.
    """
    if not isinstance(value, dict):
        return float(value), None
    cfg = dict(value)
    kind = cfg.pop('type', None)
    if kind != 'Calibrated':
        raise KeyError(f'Loss {term!r}: loss_weight is a number or '
                       "dict(type='Calibrated', ratio=...), got type "
                       f'{kind!r}.')
    try:
        cal = Calibration(**cfg)
    except TypeError as err:
        raise TypeError(f'Loss {term!r}: Calibrated loss_weight takes ratio, '
                        f'on and steps ({err}).') from None
    if cal.ratio <= 0 or cal.on not in _MODES or int(cal.steps) < 1:
        raise ValueError(f'Loss {term!r}: Calibrated needs ratio > 0, on in '
                         f'{_MODES} and steps >= 1, got {tuple(cal)}.')
    return 1.0, cal._replace(steps=int(cal.steps))


#: Below this mean cosine between a term's gradient and the task loss's on
#: the calibration steps, an ``on='grad'`` weight is set with a warning: a
#: term (nearly) orthogonal to the task, forced to the task's scale, has
#: collapsed a student (docs/benchmarks.md, the pre-ReLU row set in
#: training, cosine ~0), while terms at 0.44 and more helped.
LOW_COSINE = 0.1


class Estimate(NamedTuple):
    """One step's estimate of a calibrated weight.

    Attributes:
        weight (float): The weight that gives the requested ratio.
        cosine (float, optional): Cosine between the term's and the task
            loss's gradients on the student (``on='grad'`` only).
    """
    weight: float
    cosine: Optional[float] = None


def flat_gradient(value: Tensor, params: Sequence[Tensor]) -> Tensor:
    """d value / d params as one flat float vector, zeros for parameters
    ``value`` does not reach (the graph is kept)."""
    grads = torch.autograd.grad(
        value, list(params), retain_graph=True, allow_unused=True)
    return torch.cat([
        (g if g is not None else torch.zeros_like(p)).reshape(-1).float()
        for g, p in zip(grads, params)
    ])


def gradient_cosine(first: Tensor, second: Tensor) -> float:
    """Cosine between two flat gradients.

    Args:
        first (Tensor): A flat gradient (:func:`flat_gradient`).
        second (Tensor): Another, of the same length.

    Returns:
        float: Their cosine; 0.0 when either is zero.
    """
    denom = first.norm() * second.norm()
    return float(first @ second / denom) if denom > 0 else 0.0


def estimate_weight(
        cal: Calibration, term: Tensor, task: Tensor,
        gradient: Optional[Callable[[Tensor], Tensor]]) -> Optional[Estimate]:
    """One step's estimate of the weight that gives ``cal.ratio`` (and, for
    ``on='grad'``, of the gradients' cosine), averaged over the ranks that
    have one; None when no rank has one: a rank has none when its term (or
    its gradient) is 0, or when the term or the task loss is not finite (a
    NaN or inf step must not become the weight).

    Args:
        cal (Calibration): The request.
        term (Tensor): The term's unweighted value (with its graph for
            ``on='grad'``).
        task (Tensor): The student's task loss (likewise).
        gradient (callable, optional): Tensor -> its flat gradient on the
            student's parameters (:func:`flat_gradient`), needed for
            ``on='grad'``.
    """
    cosine = 0.0
    if cal.on == 'value':
        num, den = float(task.detach()), float(term.detach())
    else:
        if gradient is None:
            raise ValueError('A Calibrated weight with on=\'grad\' needs the '
                             "student's gradients: calibrate in training "
                             '(train_step), with gradients enabled.')
        task_grad, term_grad = gradient(task), gradient(term)
        num, den = float(task_grad.norm()), float(term_grad.norm())
        cosine = gradient_cosine(task_grad, term_grad)
    usable = math.isfinite(num) and math.isfinite(den) and den > 1e-12
    sums = [cal.ratio * num / den, cosine, 1.0] if usable else [0.0] * 3
    estimate = torch.tensor(sums, dtype=torch.float64)
    if get_world_size() > 1:
        all_reduce(estimate, op='sum')  # (sums of estimates, ranks with one)
    if estimate[2] == 0:
        return None
    weight, cosine = (estimate[:2] / estimate[2]).tolist()
    return Estimate(weight, cosine if cal.on == 'grad' else None)


def running_mean(mean: float, count: int, value: float) -> float:
    """The mean of ``count`` values, ``mean``, with ``value`` added."""
    return value if count == 0 else (mean * count + value) / (count + 1)


def calibrated_names(calibrations) -> List[str]:
    """The calibrated term names, in a fixed order (buffer indices)."""
    return sorted(calibrations)
