"""Thread limits for the numeric libraries, so a fit uses the cores it has instead of fighting over them.

OpenBLAS starts one thread per core inside every matrix product; the logistic regressions here are many small
sparse problems, where those threads mostly wait on each other (an evaluation took 34 s with the default
threads and 7 s with one, same results, on 2 cores). Evaluation therefore runs with one BLAS thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def blas_threads(limit: int = 1) -> Iterator[None]:
    """Run the block with at most ``limit`` BLAS/OpenMP threads per process (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit):
        yield
