"""Batched replicas: population GD for R students of one width in one numba call
(``tl.train_replicas``) against R calls of ``tl.train``, at the widths the sweeps use.

    python benchmarks/bench_replicas.py

k = 2 orthonormal teacher in d = 30, R = 8 students from small balanced inits, 2000 GD steps at
lr 0.5 with no tolerance (equal work for both), 2 numba threads. Median of 3 runs [min, max].
Writes benchmarks/bench_replicas.json.
"""

from __future__ import annotations

import time

import numpy as np
from _common import report

import twolayer as tl

R, STEPS, REPEATS = 8, 2000, 3


def timed(fn) -> tuple[float, float, float]:
    values = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        values.append(time.perf_counter() - t0)
    values.sort()
    return values[0], float(np.median(values)), values[-1]


def main():
    teacher = tl.Teacher.orthonormal(2, 30)
    task = tl.Population(teacher)
    rows = []
    for m in (4, 16, 32, 64, 128, 256):
        students = [tl.Student.init(m, 30, 1e-3, seed=s, balanced=True) for s in range(R)]
        one = lambda: [tl.train(s, task, "gd", lr=0.5, steps=STEPS) for s in students]  # noqa: E731,B023
        batched = lambda: tl.train_replicas(students, task, lr=0.5, steps=STEPS)  # noqa: E731,B023
        one(), batched()  # compile and warm up
        sequential, together = timed(one), timed(batched)
        same = all(np.array_equal(a.net.W, b.net.W) for a, b in zip(one(), batched()))
        rows.append({"m": m, "replicas": R, "sequential_s": sequential[1],
                     "sequential_range": [sequential[0], sequential[2]],
                     "batched_s": together[1], "batched_range": [together[0], together[2]],
                     "speedup": sequential[1] / together[1], "identical_results": same})
        print(rows[-1], flush=True)
    report("bench_replicas", rows)


if __name__ == "__main__":
    main()
