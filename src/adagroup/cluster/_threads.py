"""One BLAS thread around the small dense linear algebra of the clustering core.

Below a few thousand tasks every BLAS/LAPACK call in the solver and the
certificate works on matrices that are too small to split across threads:
OpenBLAS's threads then spend their time waking and waiting, and on a loaded
machine a fit of Fig. 2 at ``n = 150`` took 10 s in the default environment
against 0.35 s with ``OMP_NUM_THREADS=1``. Above that size the products with
the affinity matrix are large enough for threads to pay off (``n = 6000``:
1.3 s with 2 threads, 2.6 s with one), so the caller's setting is kept.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

__all__ = ["SINGLE_THREAD_MAX_N", "blas_threads_for"]

#: Largest number of tasks solved with one BLAS thread (measured crossover, see above).
SINGLE_THREAD_MAX_N = 3000


@functools.lru_cache(maxsize=1)
def _controller() -> Any:
    """A cached ``threadpoolctl.ThreadpoolController`` or None when it is not installed.

    Building a controller scans the loaded libraries (about 2 ms); reusing one
    makes each limit cost about 10 us, which small fits called many times per
    AdaGroup round can afford. numpy and scipy are imported by then, so their
    BLAS libraries are the ones it finds.
    """
    try:
        import numpy  # noqa: F401  (load the BLAS libraries before scanning)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    try:
        return ThreadpoolController()
    except Exception:  # an unusual BLAS build must not stop clustering
        return None


@contextlib.contextmanager
def blas_threads_for(n: int) -> Iterator[None]:
    """Run the block with one BLAS thread when ``n <= SINGLE_THREAD_MAX_N``.

    Without threadpoolctl this does nothing (the fit is then only as fast as
    the environment's ``OMP_NUM_THREADS`` allows).
    """
    controller = _controller() if n <= SINGLE_THREAD_MAX_N else None
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
