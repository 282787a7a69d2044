"""Alignment benchmarks: weights matching and the exact barrier.

    python benchmarks/bench_alignment.py

Prints a table and writes benchmarks/bench_alignment.json.
"""

from __future__ import annotations

import numpy as np
from _common import best_time, report

import twolayer as tl
from twolayer import reference
from twolayer.assignment import squared_distances


def condensed_minimum(m, k, d, rng, noise=0.01):
    """Neurons on random teacher rays with masses summing to b_j = 1 per ray, plus noise."""
    ray = rng.integers(0, k, m)
    W = np.eye(k, d)[ray] * rng.uniform(0.5, 1.5, (m, 1))
    a = 1.0 / (np.bincount(ray, minlength=k)[ray] * np.linalg.norm(W, axis=1))
    return tl.Student(a, W + noise * rng.standard_normal((m, d)))


def blas_threads_rows() -> list[dict]:
    """Weight matching of two 40-128-128-10 MLPs with the caller's BLAS at one and at two threads:
    matching holds BLAS to one thread itself, so the two times should agree (issue 23 measured
    0.51 s against 0.023 s before it did)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loaded, so that the limits reach numba's BLAS too)
    from threadpoolctl import threadpool_limits

    A, B = tl.MLP.init((40, 128, 128, 10), seed=0), tl.MLP.init((40, 128, 128, 10), seed=1)
    times = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            times[threads] = best_time(lambda: tl.match(A, B), repeats=7)
    return [{"case": "weights matching MLP 40-128-128-10, caller's BLAS 1 thread", "ms": 1e3 * times[1]},
            {"case": "weights matching MLP 40-128-128-10, caller's BLAS 2 threads", "ms": 1e3 * times[2],
             "x_one_thread": times[2] / times[1]}]


def main():
    rng = np.random.default_rng(0)
    rows = blas_threads_rows()
    for m in (1000, 4000):
        A = tl.Student(rng.standard_normal(m), rng.standard_normal((m, 20)))
        near = tl.permute(A.with_params(A.a + 1e-3 * rng.standard_normal(m),
                                        A.W + 1e-3 * rng.standard_normal((m, 20))),
                          rng.permutation(m))
        indep = tl.Student(rng.standard_normal(m), rng.standard_normal((m, 20)))
        FA, FB = (np.column_stack([s.a, s.W]) for s in (A, indep))
        t_cost = best_time(lambda FA=FA, FB=FB: squared_distances(FA, FB), repeats=3)
        t_cost_np = best_time(lambda FA=FA, FB=FB: reference.squared_distances(FA, FB), repeats=3)
        rows.append({"case": f"weights matching m={m}, near-permuted",
                     "ms": 1e3 * best_time(lambda A=A, B=near: tl.match(A, B), repeats=5)})
        rows.append({"case": f"weights matching m={m}, independent",
                     "ms": 1e3 * best_time(lambda A=A, B=indep: tl.match(A, B), repeats=3),
                     "cost_ms": 1e3 * t_cost, "cost_numpy_ms": 1e3 * t_cost_np,
                     "x_numpy": t_cost_np / t_cost})
    teacher = tl.Teacher.orthonormal(4, 20)
    A = condensed_minimum(1000, 4, 20, rng)
    B = tl.permute(A, rng.permutation(1000))
    res = tl.barrier(A, B, tl.Population(teacher))
    rows.append({"case": "exact barrier m=1000 (25-point grid + Brent)",
                 "ms": 1e3 * best_time(lambda: tl.barrier(A, B, tl.Population(teacher)), repeats=5),
                 "value": res.value, "t*": res.t})
    report("bench_alignment", rows)


if __name__ == "__main__":
    main()
