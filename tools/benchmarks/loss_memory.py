# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Peak memory and time of one forward + backward of each distillation
loss at Cityscapes scale, next to a student training step.

    python tools/benchmarks/loss_memory.py [--device cpu|cuda] [--only NAME ..]
        [--no-student] [--out docs/benchmarks/loss_memory.md]

Every entry of :data:`CASES` builds the loss from its config, makes random
student/teacher tensors of the given shapes (and, when the loss reads labels,
a (B, 512, 1024) label map passed as the distiller would: nearest-resized to
the student tensor, or at full resolution for ``full_resolution_labels``),
and measures the memory allocated by the loss's forward and backward above
what was allocated before (the inputs). Reported: peak bytes, and the peak
as a multiple of the student + teacher input bytes, so a loss that builds a
quadratic-in-pixels tensor (N x N, N = h*w = 8192 at Cityscapes' 1/8: 256 MiB
per image in fp32) stands out.

CUDA: ``torch.cuda.max_memory_allocated``. CPU: the torch profiler's memory
events (``profile_memory=True``), whose running sum gives the peak of the
tensors torch allocated.

Time: median of three forward + backward passes after a warm-up, without
the profiler. The reference row is one full training step (forward, losses,
backward, SGD update) of the PSPNet-R18 student on 2 x 512 x 1024 images.

Add an entry to :data:`CASES` to benchmark another loss.
"""
import argparse
import time
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from mmseg.registry import MODELS

import mmseg_kd  # noqa: F401  (registers the losses)
from mmseg_kd.distill import resize_labels
from mmseg_kd.utils import frozen

#: Full-resolution label size of the benchmark (Cityscapes' 512x1024 crops).
IMAGE_SIZE = (512, 1024)
#: Cityscapes scale: batch 2, 19 classes, 1/8 maps.
LOGITS = (2, 19, 64, 128)
#: PSPNet-R18 / PSPNet-R101 PSP-module features at 1/8.
STUDENT_FEAT = (2, 128, 64, 128)
TEACHER_FEAT = (2, 512, 64, 128)
#: DeepLabV3+ decoder features at 1/4 (the pre-ReLU pixel-wise term).
DECODER_FEAT = (2, 128, 128, 256)
TEACHER_DECODER_FEAT = (2, 512, 128, 256)


class Case(NamedTuple):
    """One benchmark entry."""
    name: str
    loss: dict
    student_shape: Tuple[int, ...]
    teacher_shape: Tuple[int, ...]
    needs_labels: bool = False


CASES = [
    Case('KDLoss', dict(type='KDLoss', tau=1.0), LOGITS, LOGITS),
    Case('ChannelWiseDivergence', dict(type='ChannelWiseDivergence', tau=4.0),
         LOGITS, LOGITS),
    Case('IFVDLoss (feat 128/512)', dict(type='IFVDLoss', num_classes=19),
         STUDENT_FEAT, TEACHER_FEAT, True),
    Case('CGDLoss (1/8 logits)', dict(type='CGDLoss', group_size=10), LOGITS,
         LOGITS),
    Case('CGDLoss (resized to labels)',
         dict(type='CGDLoss', group_size=10, resize_to='labels'), LOGITS,
         LOGITS, True),
    Case('DISTLoss', dict(type='DISTLoss'), LOGITS, LOGITS),
    Case('SKDPixelWiseLoss', dict(type='SKDPixelWiseLoss'), LOGITS, LOGITS),
    Case('SKDPairWiseLoss (pool_scale 0.5: 3x3 nodes)',
         dict(type='SKDPairWiseLoss', pool_scale=0.5), STUDENT_FEAT,
         TEACHER_FEAT),
    Case('SKDPairWiseLoss (2x2 kernel: 2048 nodes)',
         dict(type='SKDPairWiseLoss', kernel_size=2, detach_norm=False),
         STUDENT_FEAT, TEACHER_FEAT),
    Case('PreReLUAttentionLoss (1/4 decoder feat)',
         dict(type='PreReLUAttentionLoss'), DECODER_FEAT,
         TEACHER_DECODER_FEAT),
    Case('FitNetLoss (connected feat)', dict(type='FitNetLoss'), TEACHER_FEAT,
         TEACHER_FEAT),
    Case('ATLoss', dict(type='ATLoss'), STUDENT_FEAT, TEACHER_FEAT),
    Case('CIRKDMiniBatchLoss (8192 x 8192 per pair)',
         dict(type='CIRKDMiniBatchLoss'), STUDENT_FEAT, TEACHER_FEAT),
    Case(
        'CIRKDMemoryLoss (M_p 20000, M_r 2000)',
        dict(
            type='CIRKDMemoryLoss',
            num_classes=19,
            student_channels=128,
            teacher_channels=512), STUDENT_FEAT, TEACHER_FEAT, True),
    Case(
        'SKDAdversarialLoss, student term',
        dict(
            type='SKDAdversarialLoss',
            discriminator=dict(type='SAGANDiscriminator')), LOGITS, LOGITS),
    Case(
        'SKDAdversarialLoss, discriminator step (WGAN-GP)',
        dict(
            type='SKDAdversarialLoss',
            discriminator=dict(type='SAGANDiscriminator')), LOGITS, LOGITS),
]


def _num_classes(case: Case) -> int:
    return int(case.loss.get('num_classes', LOGITS[1]))


def make_inputs(case: Case, loss, device: torch.device):
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(case.student_shape, generator=gen).to(device)
    teacher = torch.randn(case.teacher_shape, generator=gen).to(device)
    labels = None
    if case.needs_labels:
        full = torch.randint(
            0,
            _num_classes(case), (case.student_shape[0], ) + IMAGE_SIZE,
            generator=gen)
        full[:, :16] = 255
        size = IMAGE_SIZE if loss.full_resolution_labels \
            else case.student_shape[-2:]
        labels = resize_labels(full, size).to(device)
    return student.requires_grad_(True), teacher, labels


def build_loss(case: Case, device: torch.device):
    """The loss of ``case`` and, for adversarial ones, its critic (else
    None)."""
    loss = MODELS.build(dict(case.loss)).to(device)
    critic = loss.build_critic(case.student_shape[1]).to(device) \
        if loss.adversarial else None
    return loss, critic


def _step(loss, critic, student, teacher, labels, name: str = '') -> None:
    if 'discriminator step' in name:
        value = sum(critic.loss(student, teacher).values())
    elif critic is not None:
        with frozen(critic):
            value = loss(student, teacher, labels, critic=critic)
    else:
        value = loss(student, teacher, labels)
        if isinstance(value, dict):  # several named terms
            value = sum(value.values())
    value.backward()


def peak_cpu(step) -> int:
    """Peak of the running sum of the profiler's allocation events while
    ``step()`` runs."""
    from torch.profiler import ProfilerActivity, profile
    with profile(
            activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [(e.start_ns(), e.nbytes())
              for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]' and e.device_type().name == 'CPU']
    current = peak = 0
    for _, nbytes in sorted(events):
        current += nbytes
        peak = max(peak, current)
    return peak


def peak_cuda(step) -> int:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def timed(step, device: torch.device, repeats: int = 3) -> float:
    """Median wall time of ``step()`` (after one warm-up call)."""
    step()
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(case: Case, device: torch.device) -> dict:
    loss, critic = build_loss(case, device)
    student, teacher, labels = make_inputs(case, loss, device)

    def step():
        student.grad = None
        _step(loss, critic, student, teacher, labels, case.name)

    seconds = timed(step, device)
    peak = peak_cuda(step) if device.type == 'cuda' else peak_cpu(step)
    inputs = (
        student.numel() * student.element_size() +
        teacher.numel() * teacher.element_size())
    return dict(
        name=case.name,
        student=case.student_shape,
        teacher=case.teacher_shape,
        inputs=inputs,
        peak=peak,
        ratio=peak / inputs,
        seconds=seconds,
        labels=None if labels is None else tuple(labels.shape))


def student_step(device: torch.device) -> dict:
    """One training step of PSPNet-R18 (mmseg's Cityscapes config, random
    init) on 2 x 512 x 1024 images: the scale the loss rows are compared
    with."""
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DefaultScope

    from mmseg_kd.apis.probe import random_batch
    from mmseg_kd.utils import revert_unusable_sync_bn
    cfg = get_config(
        'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py')
    model_cfg = Config(dict(model=cfg.model)).model
    model_cfg.pretrained = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_unusable_sync_bn(MODELS.build(model_cfg),
                                        'student').to(device)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    data = model.data_preprocessor(
        random_batch(IMAGE_SIZE, batch_size=2, num_classes=19), True)
    inputs, samples = data['inputs'], data['data_samples']

    def step():
        optim.update_params(
            sum(v for k, v in model.loss(inputs, samples).items()
                if 'loss' in k))

    seconds = timed(step, device, repeats=1)
    peak = peak_cuda(step) if device.type == 'cuda' else peak_cpu(step)
    return dict(
        name='(reference) PSPNet-R18 student training step',
        student=(2, 3) + IMAGE_SIZE,
        teacher=None,
        labels=(2, ) + IMAGE_SIZE,
        inputs=inputs.numel() * 4,
        peak=peak,
        ratio=float('nan'),
        seconds=seconds)


def format_table(rows: Sequence[dict]) -> str:
    header = ('| loss | student | teacher | labels | peak fwd+bwd (MiB) '
              '| peak / inputs | time (ms) |')
    lines = [header, '|' + '---|' * 7]
    mib = 2.0**20
    for r in rows:
        shape = lambda s: 'x'.join(map(str, s)) if s else '-'  # noqa: E731
        ratio = '-' if r['ratio'] != r['ratio'] else f"{r['ratio']:.2f}"
        lines.append(
            f"| {r['name']} | {shape(r['student'])} | {shape(r['teacher'])} "
            f"| {shape(r['labels'])} | {r['peak'] / mib:.1f} | {ratio} | "
            f"{1000 * r['seconds']:.0f} |")
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--only', nargs='*', help='substrings of case names')
    parser.add_argument(
        '--no-student',
        action='store_true',
        help='skip the reference student step')
    parser.add_argument('--out', help='also write the table (markdown)')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    cases = [
        c for c in CASES
        if not args.only or any(o in c.name for o in args.only)
    ]
    rows = [] if args.no_student else [student_step(device)]
    for case in cases:
        rows.append(measure(case, device))
        print(
            f"{case.name}: {rows[-1]['peak'] / 2**20:.1f} MiB, "
            f"{1000 * rows[-1]['seconds']:.0f} ms",
            flush=True)
    head = (f'device: {device} ({torch.get_num_threads()} threads); torch '
            f'{torch.__version__}; batch 2, 19 classes, 1/8 maps of '
            f'{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} images')
    table = format_table(rows)
    print(head)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(head + '\n\n' + table + '\n')


if __name__ == '__main__':
    main()
