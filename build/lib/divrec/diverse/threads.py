"""Hold a job to the cores Snakemake gave it (torch intra-op and OpenMP/BLAS pools alike).

Measured on a shared 2-core machine: with more threads than free cores, the small convolutions
of the downstream classifier ran 15x slower and sklearn's t-SNE 5x slower than on one thread.
"""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def limit_threads(n: int | None):
    """Within the block, torch and every threadpool (OpenMP, BLAS) use at most ``n`` threads;
    ``None`` leaves them alone."""
    if not n:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)
