"""Minibatch SGD with heavy-ball momentum for MLPs on a classification objective.

v <- mu v + grad,  theta <- theta - lr v, on minibatches of shuffled epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..random import SeedLike, child_seeds
from ..validation import check_positive_float, check_positive_int
from .mlp import MLP, loss_and_grads


@dataclass
class MLPTrainResult:
    """The trained ``net``, the minibatch losses every ``record_every`` steps, whether the run
    diverged (a non-finite loss stops it), and (step, MLP) checkpoints when asked."""

    net: MLP
    losses: np.ndarray
    diverged: bool
    checkpoints: list[tuple[int, MLP]] = field(default_factory=list)


def train_sgd(net: MLP, X: np.ndarray, y: np.ndarray, cross_entropy: bool = True, lr: float = 0.05,
              steps: int = 1000, batch: int = 128, momentum: float = 0.9, seed: SeedLike = 0, checkpoints=None,
              record_every: int = 50, masks: dict[str, np.ndarray] | None = None) -> MLPTrainResult:
    """Minibatch SGD with momentum on labelled data (X, y), validated by the caller
    (``twolayer.train`` with a ``Classification`` objective).

    Parameters
    ----------
    net : MLP
    X : array of shape (n, d); y : integer labels of shape (n,)
    cross_entropy : bool
        Cross-entropy of softmax(z) (True) or 1/2 |z - onehot(y)|^2.
    lr, momentum : float
        Step size and heavy-ball coefficient mu.
    steps, batch : int
        Number of updates and minibatch size (capped at n).
    seed : int or SeedSequence
        Child 0 of ``SeedSequence(seed)`` shuffles the epochs.
    checkpoints : iterable of int, optional
        Steps at which to keep a copy of the network.
    masks : dict of 0/1 arrays keyed like ``net.arrays()``, optional
        Pruned weights stay at zero (their gradients are masked).
    """
    lr = check_positive_float("lr", lr)
    momentum = check_positive_float("momentum", momentum, allow_zero=True)
    steps = check_positive_int("steps", steps, minimum=0)
    batch = check_positive_int("batch", batch)
    record_every = check_positive_int("record_every", record_every)
    batch = min(batch, X.shape[0])
    rng = np.random.default_rng(child_seeds(seed, 1)[0])
    keep = set() if checkpoints is None else {int(s) for s in checkpoints}
    params = {k: v.copy() for k, v in net.arrays().items()}
    if masks is not None:
        if set(masks) != set(params) or any(masks[k].shape != p.shape for k, p in params.items()):
            raise ValueError(f"masks must hold arrays shaped like net.arrays() ({', '.join(params)})")
        params = {k: p * masks[k] for k, p in params.items()}
    velocity = {k: np.zeros_like(p) for k, p in params.items()}
    losses, saved, order, pos = [], [], rng.permutation(X.shape[0]), 0
    for step in range(steps + 1):
        if step in keep:
            saved.append((step, net.with_arrays({k: p.copy() for k, p in params.items()})))
        if step == steps:
            break
        if pos + batch > order.size:
            order, pos = rng.permutation(X.shape[0]), 0
        idx = order[pos:pos + batch]
        pos += batch
        value, grads = loss_and_grads(net.with_arrays(params), X[idx], y[idx], cross_entropy)
        if not np.isfinite(value):
            return MLPTrainResult(net.with_arrays(params), np.array(losses), True, saved)
        if step % record_every == 0:
            losses.append(value)
        for k, p in params.items():
            v = velocity[k]
            v *= momentum
            v += grads[k] if masks is None else grads[k] * masks[k]
            p -= lr * v
    return MLPTrainResult(net.with_arrays(params), np.array(losses), False, saved)
