"""MLP training throughput: twolayer.deep (tl.train, Classification) against PyTorch (CPU), one run.

    python benchmarks/bench_mlp.py

784 -> 512 -> 512 -> 10 (synthetic MNIST-sized inputs) and 64 -> 128 -> 10 (digits),
batch 128, SGD with momentum 0.9, cross-entropy. Writes benchmarks/bench_mlp.json.
"""

from __future__ import annotations

import time

import numpy as np
from _common import report, torch_or_none

import twolayer as tl

torch = torch_or_none()
STEPS = 200


def numpy_rate(sizes, X, y):
    net = tl.MLP.init(sizes, seed=0)
    task = tl.Classification(X, y)
    tl.train(net, task, "sgd", steps=5)
    t0 = time.perf_counter()
    tl.train(net, task, "sgd", steps=STEPS, batch=128)
    return STEPS * 128 / (time.perf_counter() - t0)


def torch_rate(sizes, X, y):
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(i, o, dtype=torch.float64), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def steps(count):
        order = torch.from_numpy(rng.permutation(X.shape[0]))
        for s in range(count):
            idx = order[(s * 128) % (X.shape[0] - 128):][:128]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    steps(5)
    t0 = time.perf_counter()
    steps(STEPS)
    return STEPS * 128 / (time.perf_counter() - t0)


def main():
    rng = np.random.default_rng(0)
    rows = []
    for name, sizes, n in (("784-512-512-10 (MNIST-sized)", (784, 512, 512, 10), 20_000),
                           ("64-128-10 (digits-sized)", (64, 128, 10), 1347)):
        X, y = rng.standard_normal((n, sizes[0])), rng.integers(0, 10, n)
        row = {"case": name, "float64 samples/s": numpy_rate(sizes, X, y)}
        if torch is not None:
            row["torch samples/s"] = torch_rate(sizes, X, y)
            row["x_torch"] = row["float64 samples/s"] / row["torch samples/s"]
        rows.append(row)
    report("bench_mlp", rows)


if __name__ == "__main__":
    main()
