"""float32 against float64 for PyTorch networks: speed, and what it changes in real-data barriers.

    python benchmarks/bench_dtype.py [pairs]

The real-data protocol of ``real_conv`` (``sims/experiments/realdata.py``): MNIST-1D standardised,
the VGG (BatchNorm) and the ResNet-8 at channel multiplier 0.5, SGD with momentum 0.9, lr 0.05,
batch 128, 600 steps; barriers on the 1000 test rows (11-point grid, Brent refinement),
BatchNorm statistics recomputed on 1000 training rows. 2 threads.

* Speed: ``tl.train`` (60 steps) and one ``tl.barrier``, float64 and float32 alternately on the
  same network, ``REPEATS`` times; the ratio float32 / float64 of each repeat, median and range.
* Barriers: for each pair (run seed = pair index, the networks' seeds drawn from it as the
  experiments do), both networks trained from the same initialisation and minibatches in
  float64 and in float32, then the loss and error barriers with no alignment and after weight
  matching; the float32 - float64 difference of each pair against the pair-to-pair spread
  (standard deviation over pairs) of the float64 barrier.

Writes benchmarks/bench_dtype.json, with the machine's 1-minute load average (``os.getloadavg``) at
the start of each network's measurements and after each pair (the machine may be shared).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from _common import report, torch_or_none

import twolayer as tl
from sims.experiments.realdata import RealConfig, barrier_kwargs, dataset, test_objective, train_objective
from twolayer.random import child

torch = torch_or_none()
REPEATS = 5
STEPS = 60
DTYPES = ("float64", "float32")


def speed(cfg: RealConfig, data) -> dict:
    train, test = train_objective(data), test_objective(data)
    nets = {d: cfg.network(data, 0).astype(d) for d in DTYPES}
    kwargs = barrier_kwargs(data)
    trained = {d: tl.train(nets[d], train, "sgd", steps=100, seed=1).net for d in DTYPES}
    other = {d: tl.train(cfg.network(data, 1).astype(d), train, "sgd", steps=100, seed=2).net for d in DTYPES}
    rates, barrier_s = {d: [] for d in DTYPES}, {d: [] for d in DTYPES}
    for _ in range(REPEATS):
        for d in DTYPES:  # alternately, so that both see the same load of the shared machine
            t0 = time.perf_counter()
            tl.train(nets[d], train, "sgd", steps=STEPS, batch=cfg.batch, seed=1)
            rates[d].append(STEPS * cfg.batch / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            tl.barrier(trained[d], other[d], test, **kwargs)
            barrier_s[d].append(time.perf_counter() - t0)
    train_ratio = np.array(rates["float32"]) / np.array(rates["float64"])
    barrier_ratio = np.array(barrier_s["float64"]) / np.array(barrier_s["float32"])
    return {"train_samples_s": {d: float(np.median(v)) for d, v in rates.items()},
            "barrier_s": {d: float(np.median(v)) for d, v in barrier_s.items()},
            "train_speedup": float(np.median(train_ratio)),
            "train_speedup_range": [float(train_ratio.min()), float(train_ratio.max())],
            "barrier_speedup": float(np.median(barrier_ratio)),
            "barrier_speedup_range": [float(barrier_ratio.min()), float(barrier_ratio.max())]}


def barriers(cfg: RealConfig, data, pair: int) -> dict:
    train, test, kwargs = train_objective(data), test_objective(data), barrier_kwargs(data)
    seq = np.random.SeedSequence(pair)
    out = {}
    for d in DTYPES:
        A, B = (tl.train(cfg.network(data, child(seq, 2 * i)).astype(d), train, "sgd", lr=cfg.lr, steps=cfg.steps,
                         batch=cfg.batch, seed=child(seq, 2 * i + 1)).net for i in range(2))
        plain = tl.barrier(A, B, test, **kwargs)
        aligned = tl.barrier_modulo_permutation(A, B, test, **kwargs)
        out[d] = {"plain_loss": plain.value, "plain_error": plain.error.value,
                  "weights_loss": aligned.value, "weights_error": aligned.error.value,
                  "test_loss_A": test.loss(A.with_batch_stats(kwargs["recompute_bn"]))}
    return out


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    data = dataset("mnist1d", 0)
    rows = []
    for arch, depth in (("vgg", 8), ("resnet", 8)):
        cfg = RealConfig(arch=arch, multiplier=0.5, depth=depth, steps=600)
        load = [os.getloadavg()[0]]
        row = {"network": f"{arch}-{depth}" if arch == "resnet" else "vgg-small-bn", "multiplier": 0.5,
               **speed(cfg, data), "load_average_1min": load}
        rows.append(row)
        print(row, flush=True)
        per_pair = []
        for p in range(pairs):
            per_pair.append(barriers(cfg, data, p))
            load.append(os.getloadavg()[0])
            print(p, per_pair[-1], flush=True)
            for key in ("plain_loss", "plain_error", "weights_loss", "weights_error", "test_loss_A"):
                b64 = np.array([q["float64"][key] for q in per_pair])
                b32 = np.array([q["float32"][key] for q in per_pair])
                row[key] = {"float64": b64.tolist(), "float32": b32.tolist(), "difference": (b32 - b64).tolist(),
                            "max_abs_difference": float(np.abs(b32 - b64).max()),
                            "pair_to_pair_sd_float64": float(b64.std(ddof=1)) if b64.size > 1 else None}
            report("bench_dtype", rows)  # after every pair: an interrupted run keeps what it measured


if __name__ == "__main__":
    main()
