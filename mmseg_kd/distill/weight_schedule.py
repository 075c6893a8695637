# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Iteration-based multipliers of a loss term's weight.

A schedule is a list of phases; the factor at an iteration is the product of
every phase's factor, and the term's weight is ``loss_weight * factor``.
The factor is a pure function of the runner's iteration, which mmengine
restores on resume, so a resumed run uses exactly the weights it would have
used without the interruption.

Phases (``begin``/``end`` are iterations; iteration ``i`` is the i-th
training step, counted from 0 as ``runner.iter``, as mmengine's own
parameter schedulers count; a negative ``begin`` places the start of a phase
before the first step, e.g. ``LinearWarmup(begin=-1, end=1999)`` gives
(i + 1) / 2000, the ramp of a reference that counts steps from 1):

* ``dict(type='LinearWarmup', end=E, begin=0, start_factor=0.0)``:
  ``start_factor`` at ``begin`` rising linearly to 1 at ``end``.
* ``dict(type='ExpWarmup', end=E, begin=0)``: ``exp(-5 (1 - t)^2)`` with
  ``t = (i - begin) / (end - begin)``, the sigmoid-shaped ramp-up of Laine &
  Aila (2017); 1 from ``end`` on.
* ``dict(type='LinearDecay', begin=B, end=E)``: 1 until ``begin``, falling
  linearly to 0 at ``end``, 0 afterwards.
* ``dict(type='Stop', at=N)``: 1 before ``N``, 0 from ``N`` on.
* ``dict(type='Start', at=N)``: 0 before ``N``, 1 from ``N`` on (a term
  that joins training late; a ``Calibrated`` weight is then set on the
  steps from ``N`` on, past the student's first iterations).

Example, CGD+WS of SegDistill (ramp 0->1 over 2k iterations, decay to 0
between 110k and 120k)::

    weight_schedule=[dict(type='LinearWarmup', end=2000),
                     dict(type='LinearDecay', begin=110000, end=120000)]
"""
import functools
import math
from typing import Callable, List, Optional, Sequence


def _linear_warmup(end: int, begin: int = 0, start_factor: float = 0.0):
    _check_span('LinearWarmup', begin, end)

    def factor(i: int) -> float:
        if i >= end:
            return 1.0
        if i <= begin:
            return start_factor
        return start_factor + (1.0 - start_factor) * (i - begin) / (
            end - begin)

    return factor


def _exp_warmup(end: int, begin: int = 0):
    _check_span('ExpWarmup', begin, end)

    def factor(i: int) -> float:
        if i >= end:
            return 1.0
        t = max(0.0, (i - begin) / (end - begin))
        return math.exp(-5.0 * (1.0 - t)**2)

    return factor


def _linear_decay(begin: int, end: int):
    _check_span('LinearDecay', begin, end)

    def factor(i: int) -> float:
        if i <= begin:
            return 1.0
        if i >= end:
            return 0.0
        return 1.0 - (i - begin) / (end - begin)

    return factor


def _switch(name: str, before: float, at: int):
    """``before`` until iteration ``at``, ``1 - before`` from it on (the
    ``Stop`` and ``Start`` phases)."""
    if at < 0:
        raise ValueError(f'{name}: `at` must be >= 0, got {at}.')
    return lambda i: before if i < at else 1.0 - before


def _check_span(name: str, begin: int, end: int) -> None:
    if not end > begin:
        raise ValueError(f'{name}: need begin < end, got begin={begin}, '
                         f'end={end}.')


_PHASES = {
    'LinearWarmup': _linear_warmup,
    'ExpWarmup': _exp_warmup,
    'LinearDecay': _linear_decay,
    'Stop': functools.partial(_switch, 'Stop', 1.0),
    'Start': functools.partial(_switch, 'Start', 0.0),
}


class WeightSchedule:
    """A product of phases, called with an iteration to give a factor.

    Args:
        phases (Sequence[dict]): Phase configs, see the module docstring.
    """

    def __init__(self, phases: Sequence[dict]) -> None:
        if isinstance(phases, dict):
            phases = [phases]
        self.phases = [dict(p) for p in phases]
        self._fns: List[Callable[[int], float]] = []
        for phase in self.phases:
            phase = dict(phase)
            kind = phase.pop('type', None)
            if kind not in _PHASES:
                raise KeyError(f'Unknown weight schedule phase {kind!r}; '
                               f'available: {sorted(_PHASES)}.')
            try:
                self._fns.append(_PHASES[kind](**phase))
            except TypeError as err:
                raise TypeError(f'Weight schedule phase {kind}: {err}. '
                                'See mmseg_kd.distill.weight_schedule.') \
                    from err

    def __call__(self, iteration: int) -> float:
        value = 1.0
        for fn in self._fns:
            value *= fn(iteration)
        return value

    def __repr__(self) -> str:
        return f'WeightSchedule({self.phases})'


def build_schedule(cfg: Optional[Sequence[dict]]) -> Optional[WeightSchedule]:
    """None for no schedule (constant weight)."""
    return None if not cfg else WeightSchedule(cfg)
