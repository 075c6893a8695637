# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Peak memory of one forward + backward of each distillation loss.

    python tools/benchmarks/loss_memory.py [--device cpu|cuda] [--only NAME ..]

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

Add an entry to :data:`CASES` to benchmark another loss.
"""
import argparse
import os.path as osp
import sys
import time
from typing import NamedTuple, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmseg.registry import MODELS  # noqa: E402

import mmseg_kd  # noqa: E402,F401  (registers the losses)
from mmseg_kd.distill import resize_labels  # noqa: E402

#: Full-resolution label size of the benchmark (Cityscapes' 512x1024 crops).
IMAGE_SIZE = (512, 1024)
#: Cityscapes scale: batch 2, 19 classes, 1/8 maps.
LOGITS = (2, 19, 64, 128)
#: PSPNet-R18 / PSPNet-R101 PSP-module features at 1/8.
STUDENT_FEAT = (2, 128, 64, 128)
TEACHER_FEAT = (2, 512, 64, 128)


class Case(NamedTuple):
    """One benchmark entry."""
    name: str
    loss: dict
    student_shape: Tuple[int, ...]
    teacher_shape: Tuple[int, ...]
    needs_labels: bool = False


CASES = [
    Case('KDLoss', dict(type='KDLoss', tau=1.0), LOGITS, LOGITS),
    Case('ChannelWiseDivergence', dict(type='ChannelWiseDivergence',
                                       tau=4.0), LOGITS, LOGITS),
    Case('IFVDLoss (feat 128/512)', dict(type='IFVDLoss', num_classes=19),
         STUDENT_FEAT, TEACHER_FEAT, True),
    Case('CGDLoss (1/8 logits)', dict(type='CGDLoss', group_size=10),
         LOGITS, LOGITS),
    Case('CGDLoss (resized to labels)',
         dict(type='CGDLoss', group_size=10, resize_to='labels'), LOGITS,
         LOGITS, True),
    Case('DISTLoss', dict(type='DISTLoss'), LOGITS, LOGITS),
]


def _num_classes(case: Case) -> int:
    return int(case.loss.get('num_classes', LOGITS[1]))


def make_inputs(case: Case, loss, device: torch.device):
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(case.student_shape, generator=gen).to(device)
    teacher = torch.randn(case.teacher_shape, generator=gen).to(device)
    labels = None
    if case.needs_labels:
        full = torch.randint(0, _num_classes(case),
                             (case.student_shape[0], ) + IMAGE_SIZE,
                             generator=gen)
        full[:, :16] = 255
        size = IMAGE_SIZE if getattr(loss, 'full_resolution_labels',
                                     False) else case.student_shape[-2:]
        labels = resize_labels(full, size).to(device)
    return student.requires_grad_(True), teacher, labels


def _step(loss, student, teacher, labels) -> None:
    value = loss(student, teacher, labels)
    value.backward()


def peak_cpu(loss, student, teacher, labels) -> int:
    """Peak of the running sum of the profiler's allocation events."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        _step(loss, student, teacher, labels)
    events = [(e.start_ns(), e.nbytes())
              for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]' and e.device_type().name == 'CPU']
    current = peak = 0
    for _, nbytes in sorted(events):
        current += nbytes
        peak = max(peak, current)
    return peak


def peak_cuda(loss, student, teacher, labels) -> int:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    _step(loss, student, teacher, labels)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def measure(case: Case, device: torch.device) -> dict:
    loss = MODELS.build(dict(case.loss)).to(device)
    student, teacher, labels = make_inputs(case, loss, device)
    _step(loss, student, teacher, labels)  # warm-up (lazy inits, caches)
    student.grad = None
    start = time.perf_counter()
    if device.type == 'cuda':
        peak = peak_cuda(loss, student, teacher, labels)
    else:
        peak = peak_cpu(loss, student, teacher, labels)
    seconds = time.perf_counter() - start
    inputs = (student.numel() * student.element_size() +
              teacher.numel() * teacher.element_size())
    return dict(name=case.name, student=case.student_shape,
                teacher=case.teacher_shape, inputs=inputs, peak=peak,
                ratio=peak / inputs, seconds=seconds,
                labels=None if labels is None else tuple(labels.shape))


def format_table(rows: Sequence[dict]) -> str:
    header = ('| loss | student | teacher | labels | inputs (MiB) | '
              'peak fwd+bwd (bytes) | peak (MiB) | peak / inputs |')
    lines = [header, '|' + '---|' * 8]
    mib = 2.0**20
    for r in rows:
        shape = lambda s: 'x'.join(map(str, s)) if s else '-'  # noqa: E731
        lines.append(
            f"| {r['name']} | {shape(r['student'])} | {shape(r['teacher'])} "
            f"| {shape(r['labels'])} | {r['inputs'] / mib:.1f} | "
            f"{r['peak']:,} | {r['peak'] / mib:.1f} | {r['ratio']:.2f} |")
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--only', nargs='*', help='substrings of case names')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    cases = [c for c in CASES
             if not args.only or any(o in c.name for o in args.only)]
    rows = [measure(case, device) for case in cases]
    print(f'device: {device}; torch {torch.__version__}; label size '
          f'{IMAGE_SIZE}')
    print(format_table(rows))


if __name__ == '__main__':
    main()
