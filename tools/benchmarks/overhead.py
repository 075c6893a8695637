# Copyright (c) mmseg_kd contributors. All rights reserved.
"""What distillation costs on top of its unavoidable part.

    python tools/benchmarks/overhead.py [--device cpu|cuda] [--size H W]
        [--batch 2] [--repeats 5] [--methods kd cwd_logits ...]
        [--precisions fp32 bf16 fp16] [--out docs/benchmarks/overhead.md]

For a PSPNet-R101-d8 -> PSPNet-R18-d8 pair (the CamVid baseline configs,
11 classes, random initialisation) it times, side by side in one process
and interleaved round by round:

* S: one training step of the student alone (forward, task loss,
  backward, SGD update);
* T: one forward of the teacher without gradient;
* D(m): one training step of DistillationSegmentor with the ``distill``
  section of method m's shipped CamVid config (and its discriminator
  optimizer for SKD's adversarial term), and with every method at once;
* two teachers (PSPNet-R101 and DeepLabV3-R101, the mean of their
  distributions as KD's target), against S + T + T2;
* the training monitor (ratios and agreement every step, gradient cosines
  every 500 iterations, amortised), against KD alone.

Reported: median seconds, and the overhead ratio D(m) / (S + T): 1.00 means
distillation costs exactly a teacher forward. On the CPU the seconds are
process CPU time (all threads), which other load on the machine disturbs
far less than wall time; on CUDA they are synchronised wall time. The
teacher-precision table runs the all-methods model with
``teacher=dict(precision=...)`` and reports the ratio (against the fp32
S + T) and how much every loss term changes relative to the fp32 teacher on
the same batch.
"""
import argparse
import copy
import os.path as osp
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import mmseg_kd  # noqa: F401
from mmseg_kd.apis.probe import random_batch
from mmseg_kd.utils import revert_unusable_sync_bn

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = osp.join(REPO, 'distillation_configs')
TEACHER = osp.join(CONFIGS, 'baselines',
                   'pspnet_r101-d8_4xb2-40k_camvid-360x360.py')
STUDENT = osp.join(CONFIGS, 'baselines',
                   'pspnet_r18-d8_4xb2-40k_camvid-360x360.py')
#: the second teacher of the two-teacher row
SECOND_TEACHER = osp.join(CONFIGS, 'baselines',
                          'deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py')
#: the monitor's gradient cosines in the monitor row, every N iterations
COSINE_INTERVAL = 500

#: method -> its shipped CamVid config (PSPNet-R101 -> PSPNet-R18, 360x360)
METHODS = {
    'kd':
    'kd/kd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'cwd_logits':
    'cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'cwd_feature':
    'cwd/cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'skd_pixel_pair':
    'skd/skd_pixel-pair_pspnet_r101-d8_pspnet_r18-d8_'
    '4xb2-40k_camvid-360x360.py',
    'skd_holistic':
    'skd/skd_pixel-pair-holistic_pspnet_r101-d8_pspnet_r18-'
    'd8_4xb2-40k_camvid-360x360.py',
    'ifvd':
    'ifvd/ifvd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'cgd':
    'cgd/cgd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'dist':
    'dist/dist_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'fitnet':
    'fitnet/fitnet_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py',
    'at':
    'at/at_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'cirkd':
    'cirkd/cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_'
    'camvid-360x360.py',
    'prerelu_pixel_pair':
    'prerelu_kd/prerelu_pixel-pair_deeplabv3plus_r101-d8_deeplabv3plus_'
    'r18-d8_4xb2-40k_camvid-360x360.py',
    'dsd':
    'dsd/dsd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'mgd':
    'mgd/mgd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
    'kd_logit_standardization':
    'kd/kd-ls_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py',
}
#: module paths of a config written for another decoder, to their PSPNet
#: counterparts: the pre-ReLU method's DeepLabV3+ decoder conv becomes the
#: PSP head's last conv (before its ReLU), so that its row is timed on the
#: same pair as the others
ON_PSPNET = {
    'decode_head.sep_bottleneck.1.pointwise_conv.bn':
    'decode_head.bottleneck.bn'
}
LOGIT_METHODS = ('kd', 'cwd_logits', 'dist', 'cgd', 'kd_logit_standardization')


def method_config(method: str) -> Config:
    """``method``'s shipped CamVid config."""
    return Config.fromfile(osp.join(CONFIGS, METHODS[method]))


def method_distill(cfg: Config) -> dict:
    """The ``distill`` section of a method's config (:func:`method_config`),
    its tensors moved to the PSPNet pair (:data:`ON_PSPNET`)."""
    distill = cfg.model.distill.to_dict()
    for side in ('student_tensors', 'teacher_tensors'):
        distill[side] = {
            n: ON_PSPNET.get(spec, spec) if isinstance(spec, str) else spec
            for n, spec in distill[side].items()
        }
    return distill


def model_cfg(path: str, size) -> dict:
    model = Config.fromfile(path).model.to_dict()
    model['pretrained'] = None
    model['data_preprocessor']['size'] = tuple(size)
    return model


def all_methods(methods) -> Config:
    """One distill section holding every method's tensors and losses
    (names prefixed with the method), and its optim wrapper."""
    distill = dict(
        student_tensors={}, teacher_tensors={}, connectors={}, losses={})
    optim = None
    for m in methods:
        cfg = method_config(m)
        d = method_distill(cfg)

        def rename(names, m=m):
            """A tensor name (or a list of them) prefixed with the
            method."""
            return f'{m}_{names}' if isinstance(
                names, str) else [f'{m}_{n}' for n in names]

        for side in ('student_tensors', 'teacher_tensors'):
            for n, spec in d[side].items():
                distill[side][rename(n)] = spec
        for n, c in d.get('connectors', {}).items():
            distill['connectors'][rename(n)] = c
        for key, loss in d['losses'].items():
            loss = dict(
                loss,
                student=rename(loss['student']),
                teacher=rename(loss['teacher']))
            for extra in ('image', ):
                if extra in loss:
                    loss[extra] = rename(loss[extra])
            distill['losses'][f'{key}_{m}'] = loss
        if 'student' in cfg.optim_wrapper:
            optim = cfg.optim_wrapper.to_dict()
    return distill, optim


def sgd(params):
    return OptimWrapper(torch.optim.SGD(params, lr=1e-4, momentum=0.9))


def wrappers(model, optim_cfg):
    student = sgd([
        p for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith('discriminator')
    ])
    if model.discriminator is None:
        return student
    disc = OptimWrapper(
        torch.optim.Adam(model.discriminator.parameters(), lr=1e-4))
    return OptimWrapperDict(student=student, discriminator=disc)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--size',
        nargs=2,
        type=int,
        default=None,
        help='input H W (default: 512 1024 on cuda, '
        '256 256 on cpu)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
    parser.add_argument(
        '--precisions',
        nargs='+',
        default=None,
        choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--out', help='also write the tables (markdown)')
    args = parser.parse_args()
    if args.batch < 2:
        parser.error('--batch must be at least 2: the PSPNet models\' '
                     'pyramid pooling has a 1x1 bin whose BatchNorm needs '
                     'more than one value per channel in training')
    device = torch.device(args.device)
    size = tuple(
        args.size or ((512, 1024) if device.type == 'cuda' else (256, 256)))
    precisions = args.precisions or (['fp32', 'bf16', 'fp16'] if device.type
                                     == 'cuda' else ['fp32', 'bf16'])
    MessageHub.get_instance('overhead-benchmark')
    batch = random_batch(size, args.batch, num_classes=11)
    scope = DefaultScope.overwrite_default_scope('mmseg')
    scope.__enter__()

    student = revert_unusable_sync_bn(
        MODELS.build(model_cfg(STUDENT, size)), 'student').to(device).train()
    teacher = revert_unusable_sync_bn(
        MODELS.build(model_cfg(TEACHER, size)), 'teacher').to(device).eval()
    teacher_state = teacher.state_dict()
    student_state = copy.deepcopy(student.state_dict())
    student_ow = sgd(student.parameters())

    def student_step():
        student.train_step(batch, student_ow)

    def teacher_forward():
        with torch.no_grad():
            data = teacher.data_preprocessor(batch, True)
            teacher(data['inputs'], mode='tensor')

    second = revert_unusable_sync_bn(
        MODELS.build(model_cfg(SECOND_TEACHER, size)),
        'teacher').to(device).eval()

    def second_forward():
        with torch.no_grad():
            data = second.data_preprocessor(batch, True)
            second(data['inputs'], mode='tensor')

    candidates = {
        'student step S': student_step,
        'teacher forward T': teacher_forward,
        'second teacher forward T2': second_forward
    }
    models = {}

    def build(name, distill, optim, precision=None, teachers=None):
        cfg = dict(
            type='DistillationSegmentor',
            student=dict(model=model_cfg(STUDENT, size)),
            distill=dict(distill, probe_size=(64, 64)))
        if teachers:
            cfg['teachers'] = teachers
        else:
            cfg['teacher'] = dict(
                model=model_cfg(TEACHER, size), precision=precision)
        model = MODELS.build(cfg).to(device).train()
        if not teachers:
            model.teacher.model.load_state_dict(teacher_state)
        model.student.load_state_dict(student_state)
        ow = wrappers(model, optim)
        models[name] = model
        candidates[name] = lambda: model.train_step(batch, ow)

    for m in args.methods:
        build(m, method_distill(method_config(m)), None)
    logits = dict(logits='decode_head.conv_seg')
    kd = dict(type='KDLoss', student='logits', teacher='logits')
    # the monitor: ratios and agreement every step; gradient cosines every
    # COSINE_INTERVAL iterations (the message hub's iteration stays 0 here,
    # so this row computes them at every step: amortised below)
    build(
        'kd + monitor (cosines)',
        dict(
            student_tensors=logits,
            teacher_tensors=logits,
            losses=dict(loss_kd=kd),
            monitor=dict(grad_cosine_interval=COSINE_INTERVAL)), None)
    build(
        'kd, two teachers (mean of both)',
        dict(
            student_tensors=logits,
            teacher_tensors=dict(psp=logits, aspp=logits),
            teacher_ensembles=dict(
                mean=dict(
                    type='MeanTeacherProbabilities',
                    inputs=['psp.logits', 'aspp.logits'])),
            losses=dict(loss_kd=dict(kd, teacher='mean'))),
        None,
        teachers=dict(
            psp=dict(model=model_cfg(TEACHER, size)),
            aspp=dict(model=model_cfg(SECOND_TEACHER, size))))
    distill_all, optim_all = all_methods(args.methods)
    build('all methods', distill_all, optim_all)
    for p in precisions:
        if p != 'fp32':
            build(f'all methods, teacher {p}', distill_all, optim_all, p)

    # teacher precision: loss terms on one batch, before any training step,
    # dropout off; every model holds the fp32 model's state (student,
    # connectors, discriminator, memories), so only the teacher's precision
    # differs
    changes = {}
    ref_model = models['all methods']
    with torch.no_grad():
        data = ref_model.data_preprocessor(batch, True)
    for p in precisions:
        name = 'all methods' if p == 'fp32' else f'all methods, teacher {p}'
        model = models[name]
        model.load_state_dict(ref_model.state_dict())
        model.eval()
        torch.manual_seed(0)  # the same random draws (CIRKD's key sampling)
        with torch.no_grad():
            changes[p] = model.loss(**data)
        model.train()
    worst = {}
    for p, terms in changes.items():
        worst[p] = (0.0, '-')
        for k, v in terms.items():
            if 'loss' not in k or k.startswith(('decode', 'aux')):
                continue
            ref = float(changes['fp32'][k])
            rel = abs(float(v) - ref) / max(abs(ref), 1e-12)
            if rel > worst[p][0]:
                worst[p] = (rel, k)

    times = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up
        fn()
    clock = time.perf_counter if device.type == 'cuda' else time.process_time
    for _ in range(args.repeats):
        for name, fn in candidates.items():
            sync(device)
            start = clock()
            fn()
            sync(device)
            times[name].append(clock() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med['student step S'] + med['teacher forward T']
    two_base = base + med['second teacher forward T2']
    if 'kd' in med:
        cosine = med.pop('kd + monitor (cosines)')
        med['kd + monitor (every step; cosines amortised)'] = med['kd'] + (
            cosine - med['kd']) / COSINE_INTERVAL

    head = (f'(device: {device} ({torch.get_num_threads()} threads), torch '
            f'{torch.__version__}; PSPNet-R101-d8 -> PSPNet-R18-d8, batch '
            f'{args.batch} x {size[0]}x{size[1]}; median of {args.repeats} '
            'interleaved rounds; ' +
            ('wall time' if device.type == 'cuda' else 'CPU time') + ')')
    lines = ['| step | seconds | ratio to S + T |', '|---|---|---|']
    for name in med:
        if 'teacher bf16' in name or 'teacher fp16' in name:
            continue
        if name in ('student step S', 'teacher forward T',
                    'second teacher forward T2'):
            ratio = ''
        elif 'two teachers' in name:
            ratio = f'{med[name] / two_base:.3f} (to S + T + T2)'
        else:
            ratio = f'{med[name] / base:.3f}'
        lines.append(f'| {name} | {med[name]:.3f} | {ratio} |')
    lines.append(f'| S + T | {base:.3f} | 1.000 |')
    if 'kd' in med:
        monitored = med['kd + monitor (every step; cosines amortised)']
        lines.append(
            f'| monitor on kd, cosines every {COSINE_INTERVAL} iterations '
            f'| | {monitored / med["kd"]:.3f} (to kd alone) |')

    prec_lines = [
        '| teacher precision | step seconds | ratio to fp32 S + T | '
        'largest relative change of a loss term | of term |',
        '|---|---|---|---|---|'
    ]
    for p in precisions:
        name = 'all methods' if p == 'fp32' else f'all methods, teacher {p}'
        rel, which = worst[p]
        prec_lines.append(f'| {p} | {med[name]:.3f} | {med[name] / base:.3f}'
                          f' | {rel:.2e} | {which} |')
    text = (
        head + '\n\n' + '\n'.join(lines) + '\n\n' + '\n'.join(prec_lines) +
        '\n')
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    scope.__exit__(None, None, None)


if __name__ == '__main__':
    main()
