"""Hold BLAS to one thread while numba kernels call it from their own parallel threads.

Each kernel thread calls BLAS on small blocks; a multi-threaded BLAS under two numba
threads oversubscribes the cores (measured here: 8x slower), so the public API runs the
kernels inside ``single_threaded_blas()``.
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
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
