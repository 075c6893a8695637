# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Running only the parts of an mmseg segmentor that a recording needs."""
from typing import Iterable, Set

from mmseg.models import BaseSegmentor, EncoderDecoder
from torch import Tensor, nn

_FEATURE_PARTS = {'backbone', 'neck', 'data_preprocessor'}


def parts_needed(paths: Iterable[str]) -> Set[str]:
    """Which top-level parts of a segmentor must run to produce tensors at
    ``paths``: a subset of ``{'decode_head', 'auxiliary_head', 'all'}``
    (backbone and neck always run; ``'all'`` means the full network forward
    because a path is outside the usual parts)."""
    needed = set()
    for path in paths:
        top = path.split('.', 1)[0]
        if top in _FEATURE_PARTS:
            continue
        if top in ('decode_head', 'auxiliary_head'):
            needed.add(top)
        else:
            needed.add('all')
    return needed


def _run_heads(heads, feats) -> None:
    if isinstance(heads, nn.ModuleList):
        for head in heads:
            head(feats)
    else:
        heads(feats)


def forward_network(segmentor: BaseSegmentor, inputs: Tensor,
                    parts: Set[str]) -> None:
    """Forward ``segmentor`` on ``inputs`` through the backbone (and neck) and
    the heads in ``parts``, without computing any loss.

    Args:
        segmentor (BaseSegmentor): An mmseg segmentor. An
            ``EncoderDecoder`` (or a subclass such as
            ``CascadeEncoderDecoder``) runs only the parts needed; other
            segmentors run their whole network forward (``mode='tensor'``).
        inputs (Tensor): Preprocessed images (B, 3, H, W).
        parts (set): From :func:`parts_needed`.
    """
    if 'all' in parts or not isinstance(segmentor, EncoderDecoder):
        segmentor(inputs, mode='tensor')
        if 'auxiliary_head' in parts and segmentor.with_auxiliary_head:
            _run_heads(segmentor.auxiliary_head,
                       segmentor.extract_feat(inputs))
        return
    feats = segmentor.extract_feat(inputs)
    if 'auxiliary_head' in parts and segmentor.with_auxiliary_head:
        _run_heads(segmentor.auxiliary_head, feats)
    if 'decode_head' in parts:
        head = segmentor.decode_head
        if isinstance(head, nn.ModuleList):  # CascadeEncoderDecoder
            out = head[0](feats)
            for stage in head[1:]:
                out = stage(feats, out)
        else:
            head(feats)
