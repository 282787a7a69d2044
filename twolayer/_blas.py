"""Hold BLAS to one thread while numba kernels call it from their own parallel threads.

Each kernel thread calls BLAS on small blocks; a multi-threaded BLAS under two numba
threads oversubscribes the cores (measured here: 8x slower), so the public API runs the
kernels inside ``single_threaded_blas()``. A regression test holds the limit on the BLAS that
numba calls (``tests/test_kernels.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    global _controller
    if _controller is None:
        # numba's np.dot calls the BLAS that scipy ships (scipy.linalg.cython_blas): load it first,
        # or the controller, which sees only the libraries loaded when it is made, would not hold
        # it (measured: population loss at m = 1000 16 ms instead of 1.1 ms)
        import scipy.linalg.cython_blas  # noqa: F401

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
