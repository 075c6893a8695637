# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Records and plans shared by the tests of the CamVid benchmark runner."""

from camvid_benchmark.plan import lr_runs, tune_runs
from mmengine.config import Config


def first_loss(config: str) -> str:
    """The name of the first loss of a distillation config."""
    distill = Config.fromfile(config).model.get('distill')
    return next(iter(distill.losses)) if distill else 'loss_a'


def tuned_record(run, val, grad=1.0, value=0.5):
    """A tuning run's record: ``val`` mIoU and, over its first 1000
    iterations, per term (``grad``: term -> its gradient ratio at the
    published weights; a number: the config's first loss alone) a gradient
    ratio of that times the term's multiple (linear in the weight) and a
    value ratio ``value`` times that."""
    m = run.get('multiple') or 1.0
    curves = {}
    for term, g in (grad if isinstance(grad, dict) else {
            first_loss(run['config']): grad
    }).items():
        # a loss of several terms logs them as <loss>_<term>
        loss = term if not isinstance(m, dict) or term in m else next(
            k for k in m if term.startswith(k + '_'))
        ratio = g * (m[loss] if isinstance(m, dict) else m)
        curves[f'kd_grad_ratio/{term}'] = {'1000': ratio, '2000': 9.0}
        curves[f'kd_ratio/{term}'] = {'1000': ratio * value}
    return dict(
        method=run['method'],
        stage=run['stage'],
        seed=run['seed'],
        val_mIoU=val,
        multiple=run.get('multiple'),
        lr=run.get('lr'),
        train_curves=curves)


def lr_chosen():
    """Records of the learning-rate runs, 0.05 the best."""
    return {
        r['name']:
        dict(val_mIoU=50.0 if r['lr'] == 0.05 else 40.0, lr=r['lr'])
        for r in lr_runs()
    }


def finish_tuning(methods, records, val, grad, value=None):
    """Record every tuning run the plan allows until none is left: ``val``
    (method, multiple) -> val mIoU, ``grad`` method -> gradient ratio at
    the published weights, ``value`` method -> value over gradient ratio
    (default 0.5)."""
    while True:
        todo = [
            r for r in tune_runs(methods, records)
            if r['stage'] == 'tune' and r['name'] not in records
        ]
        if not todo:
            return
        for r in todo:
            records[r['name']] = tuned_record(r, val(r['method'],
                                                     r['multiple']),
                                              grad[r['method']],
                                              (value
                                               or {}).get(r['method'], 0.5))
