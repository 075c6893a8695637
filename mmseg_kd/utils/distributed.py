# Copyright (c) mmseg_kd contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from torch import Tensor


def gather_rows(x: Tensor) -> Tensor:
    """Concatenate ``x`` from every rank along dim 0, without gradient; the
    identity without a process group of more than one rank.

    The ranks may hold different numbers of rows (e.g. a smaller last
    batch); every other dimension must agree.

    Args:
        x (Tensor): (N_rank, ...) on this rank.

    Returns:
        Tensor: (sum of N_rank, ...), in rank order.

    Raises:
        ValueError: When the ranks' shapes differ beyond dim 0, with every
            rank's shape.
    """
    if get_world_size() == 1:
        return x
    shape = torch.tensor(x.shape, device=x.device)
    shapes = [s.tolist() for s in all_gather(shape)]
    if any(len(s) != x.dim() or s[1:] != shapes[0][1:] for s in shapes):
        raise ValueError(
            'Tensors gathered across ranks must agree beyond their first '
            f'dimension; the ranks hold {shapes}. Give every rank the same '
            'crop size (e.g. a RandomCrop to a fixed size in the train '
            'pipeline).')
    rows = [s[0] for s in shapes]
    padded = F.pad(x.contiguous(),
                   [0, 0] * (x.dim() - 1) + [0, max(rows) - x.shape[0]])
    gathered = all_gather(padded)
    return torch.cat([g[:n] for g, n in zip(gathered, rows)])
