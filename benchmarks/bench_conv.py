"""Convolutional networks on MNIST-1D: training throughput, one weight-matching solve, one barrier.

    python benchmarks/bench_conv.py

The small VGG (BatchNorm) and ResNet-20 at channel multipliers 0.5 and 1, MNIST-1D shapes
(1 x 40 inputs, 4000 training rows), batch 128, SGD with momentum 0.9, cross-entropy, 2 threads.
Columns:

* ``train_samples_s``: ``tl.train`` (PyTorch, float64 as the package keeps its networks);
* ``torch64_samples_s`` / ``torch32_samples_s``: a hand-written PyTorch loop on the same module
  in float64 / float32 (the package's overhead, and what float32 would gain);
* ``match_ms``: one ``tl.match(A, B)`` (Git Re-Basin weight matching, all permutations);
* ``barrier_s``: one ``tl.barrier`` on the 1000 test rows, 11-point grid and Brent refinement,
  BatchNorm statistics recomputed on 1000 training rows at every point (the real-data protocol).

Each number is the median of ``REPEATS`` runs with the min and max beside it (the machine is
shared). Writes benchmarks/bench_conv.json.
"""

from __future__ import annotations

import copy
import time

import numpy as np
from _common import report, torch_or_none

import twolayer as tl
from twolayer.data import load_dataset

torch = torch_or_none()
STEPS = 60
BATCH = 128
REPEATS = 3


def spread(fn, repeats: int = REPEATS) -> tuple[float, float, float]:
    """(min, median, max) of fn() over repeats calls (fn returns the measured quantity)."""
    values = sorted(fn() for _ in range(repeats))
    return values[0], float(np.median(values)), values[-1]


def package_rate(net, task):
    def once():
        t0 = time.perf_counter()
        tl.train(net, task, "sgd", steps=STEPS, batch=BATCH, seed=1)
        return STEPS * BATCH / (time.perf_counter() - t0)
    tl.train(net, task, "sgd", steps=3, batch=BATCH)
    return spread(once)


def torch_rate(net, X, y, dtype):
    model = copy.deepcopy(net.module).to(dtype).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    Xt = torch.from_numpy(X).to(dtype).reshape(-1, *net.input_shape)
    yt = torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def steps(count):
        order = torch.from_numpy(rng.permutation(X.shape[0]))
        for s in range(count):
            idx = order[(s * BATCH) % (X.shape[0] - BATCH):][:BATCH]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def once():
        t0 = time.perf_counter()
        steps(STEPS)
        return STEPS * BATCH / (time.perf_counter() - t0)
    steps(3)
    return spread(once)


def timed(fn):
    def once():
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return spread(once)


def main():
    data = load_dataset("mnist1d", verbose=False).standardized()
    train = tl.Classification(data.X_train, data.y_train, shape=data.shape)
    test = tl.Classification(data.X_test, data.y_test, shape=data.shape)
    rows = []
    for name, make in (("vgg-small-bn", lambda w, s: tl.vgg(data.shape, 10, w, batch_norm=True, seed=s)),
                       ("resnet-20", lambda w, s: tl.resnet(data.shape, 10, w, 20, seed=s))):
        for width in (0.5, 1.0):
            A, B = (tl.train(make(width, s), train, "sgd", steps=100, batch=BATCH, seed=s).net for s in (0, 1))
            row = {"network": name, "multiplier": width,
                   "parameters": int(sum(p.numel() for p in A.module.parameters()))}
            for key, value in (("train_samples_s", package_rate(A, train)),
                               ("torch64_samples_s", torch_rate(A, data.X_train, data.y_train, torch.float64)),
                               ("torch32_samples_s", torch_rate(A, data.X_train, data.y_train, torch.float32))):
                row[key], row[f"{key}_range"] = value[1], [value[0], value[2]]
            match = timed(lambda: tl.match(A, B))  # noqa: B023
            row["match_ms"], row["match_ms_range"] = 1e3 * match[1], [1e3 * match[0], 1e3 * match[2]]
            kwargs = {"recompute_bn": data.X_train[:1000], "ts": np.linspace(0, 1, 11)}
            barrier = timed(lambda: tl.barrier(A, B, test, **kwargs))  # noqa: B023
            row["barrier_s"], row["barrier_s_range"] = barrier[1], [barrier[0], barrier[2]]
            rows.append(row)
            print(row, flush=True)
    report("bench_conv", rows)


if __name__ == "__main__":
    main()
