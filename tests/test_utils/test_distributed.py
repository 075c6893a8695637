# Copyright (c) mmseg_kd contributors. All rights reserved.
"""gather_rows on two gloo processes: ranks with different batch sizes are
concatenated in rank order; a spatial mismatch is an error on every rank
that names both shapes (not a hang)."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmseg_kd.utils.distributed import gather_rows


def _worker(rank, init_file, results):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    try:
        rows = 2 + rank  # rank 0: 2 rows, rank 1: 3
        x = torch.arange(rows * 4, dtype=torch.long).reshape(rows, 2, 2)
        x = x + 100 * rank
        results[f'{rank}:rows'] = gather_rows(x).tolist()
        odd = torch.zeros(1, 2 + rank, 2)  # spatial sizes differ
        try:
            gather_rows(odd)
        except ValueError as err:
            results[f'{rank}:error'] = str(err)
    finally:
        dist.destroy_process_group()


def test_gather_rows_across_two_ranks(tmp_path):
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(
            _worker,
            args=(str(tmp_path / 'init'), results),
            nprocs=2,
            join=True)
        results = dict(results)
    expected = torch.cat([
        torch.arange(8).reshape(2, 2, 2),
        torch.arange(12).reshape(3, 2, 2) + 100
    ]).tolist()
    assert results['0:rows'] == expected == results['1:rows']
    for rank in (0, 1):
        assert '[[1, 2, 2], [1, 3, 2]]' in results[f'{rank}:error']


def test_single_process_is_the_identity():
    x = torch.randn(3, 2)
    assert gather_rows(x) is x
