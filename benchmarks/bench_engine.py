"""Engine benchmarks: numba kernels against a vectorised NumPy step and PyTorch (CPU), one run.

    python benchmarks/bench_engine.py

Prints a table and writes benchmarks/bench_engine.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import best_time, gemm_ceiling, report, torch_or_none

import twolayer as tl
from twolayer import reference
from twolayer._blas import single_threaded_blas

torch = torch_or_none()
#: GD steps per timed train() call (its two extra loss evaluations cost ~1/STEPS of a step each)
STEPS = 50


def empirical_step(rows, peak):
    n, d, m = 10_000, 20, 1000
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    s = tl.Student(rng.standard_normal(m), rng.standard_normal((m, d)))
    lr = 1e-3

    assert tl.train(s, tl.Empirical(X, y), "gd", lr=lr, steps=STEPS).steps == STEPS

    def numba_steps():  # the GD loop of train(), inside numba
        tl.train(s, tl.Empirical(X, y), "gd", lr=lr, steps=STEPS, record_every=STEPS)

    def numpy_step():
        _, ga, gW = reference.empirical_terms(X, y, s.a, s.W, 1.0)
        return s.a - lr * ga, s.W - lr * gW

    t_nb, t_np = best_time(numba_steps, repeats=3) / STEPS, best_time(numpy_step, repeats=5)
    row = {"case": "empirical GD step n=1e4 d=20 m=1000", "numba_ms": 1e3 * t_nb,
           "numpy_ms": 1e3 * t_np, "x_numpy": t_np / t_nb,
           "GFLOP/s": 4 * n * m * d / t_nb / 1e9, "of_peak": 4 * n * m * d / t_nb / 1e9 / peak}
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        a = torch.from_numpy(s.a.copy()).requires_grad_()
        W = torch.from_numpy(s.W.copy()).requires_grad_()

        def torch_step():
            loss = 0.5 * ((torch.relu(Xt @ W.T) @ a - yt) ** 2).mean()
            ga, gW = torch.autograd.grad(loss, (a, W))
            with torch.no_grad():
                return a - lr * ga, W - lr * gW

        t_th = best_time(torch_step)
        row |= {"torch_ms": 1e3 * t_th, "x_torch": t_th / t_nb}
    rows.append(row)


def population_step(rows):
    rng = np.random.default_rng(1)
    teacher = tl.Teacher.orthonormal(4, 20)
    for m in (100, 1000, 4000):
        s = tl.Student(rng.standard_normal(m) / m, rng.standard_normal((m, 20)) / np.sqrt(20))
        assert tl.train(s, tl.Population(teacher), lr=1e-3, steps=STEPS).steps == STEPS  # no early stop
        t_nb = best_time(lambda s=s: tl.train(s, tl.Population(teacher), lr=1e-3, steps=STEPS,
                                              record_every=STEPS), repeats=3) / STEPS

        def numpy_step(s=s):
            _, ga, gW = reference.population_terms(s.a, s.W, teacher.V, teacher.b, 1.0, 1.0)
            return s.a - 1e-3 * ga, s.W - 1e-3 * gW

        t_np = best_time(numpy_step, repeats=3)
        row = {"case": f"population GD step m={m} k=4 d=20", "numba_ms": 1e3 * t_nb,
               "numpy_ms": 1e3 * t_np, "x_numpy": t_np / t_nb}
        if torch is not None:
            t_th = best_time(lambda s=s: _torch_population(s, teacher), repeats=3)
            row |= {"torch_ms": 1e3 * t_th, "x_torch": t_th / t_nb}
        rows.append(row)


def _torch_population(s, teacher):
    """The closed-form population loss in torch, gradient by autograd."""
    a = torch.from_numpy(s.a.copy()).requires_grad_()
    W = torch.from_numpy(s.W.copy()).requires_grad_()
    V, b = torch.from_numpy(teacher.V.copy()), torch.from_numpy(teacher.b.copy())

    def K(P, Q):
        nP, nQ = P.norm(dim=1), Q.norm(dim=1)
        cos = ((P @ Q.T) / torch.outer(nP, nQ)).clamp(-1 + 1e-12, 1 - 1e-12)
        phi = torch.acos(cos)
        return torch.outer(nP, nQ) * (torch.sin(phi) + (torch.pi - phi) * cos) / (2 * torch.pi)

    loss = 0.5 * a @ K(W, W) @ a - a @ K(W, V) @ b + 0.5 * b @ K(V, V) @ b
    return torch.autograd.grad(loss, (a, W))


def sgd_throughput(rows):
    teacher = tl.Teacher.orthonormal(4, 20)
    s = tl.Student.init(100, 20, scale=0.5, seed=0)
    X, y = teacher.sample(10_000, seed=0)
    steps, batch, lr = 20_000, 32, 0.01
    t0 = time.perf_counter()
    r = tl.train(s, tl.Empirical(X, y), "sgd", lr=lr, steps=steps, batch=batch,
                 record_every=steps)
    t_nb = (time.perf_counter() - t0) / steps
    assert r.steps == steps
    rng = np.random.default_rng(0)
    a, W = s.a.copy(), s.W.copy()
    np_steps = 2000
    t0 = time.perf_counter()
    for _ in range(np_steps):
        idx = rng.integers(0, X.shape[0], batch)
        _, ga, gW = reference.empirical_terms(X[idx], y[idx], a, W, 1.0)
        a -= lr * ga
        W -= lr * gW
    t_np = (time.perf_counter() - t0) / np_steps
    row = {"case": "SGD batch 32, m=100 d=20 (steps/s)", "numba_ms": 1e3 * t_nb,
           "numpy_ms": 1e3 * t_np, "x_numpy": t_np / t_nb, "steps/s": 1 / t_nb}
    if torch is not None:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        at = torch.from_numpy(s.a.copy()).requires_grad_()
        Wt = torch.from_numpy(s.W.copy()).requires_grad_()
        opt = torch.optim.SGD([at, Wt], lr=lr)
        t0 = time.perf_counter()
        for _ in range(np_steps):
            idx = torch.randint(0, X.shape[0], (batch,))
            loss = 0.5 * ((torch.relu(Xt[idx] @ Wt.T) @ at - yt[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        t_th = (time.perf_counter() - t0) / np_steps
        row |= {"torch_ms": 1e3 * t_th, "x_torch": t_th / t_nb}
    rows.append(row)


def replicas(rows):
    teacher = tl.Teacher.orthonormal(4, 20)
    students = [tl.Student.init(50, 20, scale=1e-2, seed=i) for i in range(16)]
    kw = dict(lr=0.2, steps=3000)
    tl.train_replicas(students[:2], tl.Population(teacher), steps=10, lr=0.2)
    t0 = time.perf_counter()
    assert all(r.steps == kw["steps"] for r in tl.train_replicas(students, tl.Population(teacher), **kw))
    together = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in students:
        tl.train(s, tl.Population(teacher), **kw)
    apart = time.perf_counter() - t0
    rows.append({"case": "16 replicas m=50 d=20, 3000 GD steps", "numba_ms": 1e3 * together,
                 "sequential_ms": 1e3 * apart, "speedup": apart / together})


def compile_and_cache(rows):
    """First call in a fresh process with an empty cache, then a second process using it."""
    code = ("import time; t=time.perf_counter(); import twolayer as tl; "
            "T=tl.Teacher.orthonormal(2,5); s=tl.Student.init(200,5,seed=0); "
            "P=tl.Population(T); tl.train(s,P,steps=5); tl.train(tl.Student.init(4,5),P,steps=5); "
            "X,y=T.sample(300); tl.empirical_loss_and_grad(s,X,y); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        first = float(subprocess.check_output([sys.executable, "-c", code], env=env))
        second = float(subprocess.check_output([sys.executable, "-c", code], env=env))
        files = sum(len(f) for _, _, f in os.walk(cache))
    rows.append({"case": "import + first calls (empty cache / warm cache)",
                 "cold_s": first, "warm_s": second, "cache_files": files})


def peak_memory(rows):
    code = """
import numpy as np, twolayer as tl
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
n, d, m = 100_000, 20, 1000
rng = np.random.default_rng(0)
X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
s = tl.Student(rng.standard_normal(m), rng.standard_normal((m, d)))
tl.empirical_loss_and_grad(tl.Student(s.a[:10], s.W[:10]), X[:300], y[:300])  # compile/load
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
tl.empirical_loss_and_grad(s, X, y)
print(status("VmHWM") - before)
"""
    extra = int(subprocess.check_output([sys.executable, "-c", code]))
    rows.append({"case": "peak extra memory, empirical step n=1e5 m=1000",
                 "MB": extra / 1e6, "n*m*8_MB": 100_000 * 1000 * 8 / 1e6})


def main():
    peak = gemm_ceiling()
    rows = [{"case": "numpy float64 GEMM 2048^2 (ceiling)", "GFLOP/s": peak}]
    with single_threaded_blas():
        pass
    empirical_step(rows, peak)
    population_step(rows)
    sgd_throughput(rows)
    replicas(rows)
    compile_and_cache(rows)
    peak_memory(rows)
    report("bench_engine", rows)


if __name__ == "__main__":
    main()
