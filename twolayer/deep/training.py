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
    """The trained ``net`` (an MLP or a TorchNetwork), the minibatch losses every
    ``record_every`` steps, whether the run diverged (a non-finite loss stops it), and
    (step, network) checkpoints when asked."""

    net: MLP
    losses: np.ndarray
    diverged: bool
    checkpoints: list[tuple[int, MLP]] = field(default_factory=list)


@dataclass(frozen=True)
class SGDOptions:
    """The checked options shared by the minibatch SGD of MLPs and of PyTorch networks."""

    lr: float
    momentum: float
    steps: int
    batch: int
    record_every: int
    keep: frozenset

    @classmethod
    def check(cls, n: int, lr, momentum, steps, batch, record_every, checkpoints) -> SGDOptions:
        """Validated options for n rows of data (the batch capped at n)."""
        return cls(check_positive_float("lr", lr), check_positive_float("momentum", momentum, allow_zero=True),
                   check_positive_int("steps", steps, minimum=0), min(check_positive_int("batch", batch), n),
                   check_positive_int("record_every", record_every),
                   frozenset() if checkpoints is None else frozenset(int(s) for s in checkpoints))


def check_masks(masks: dict[str, np.ndarray] | None, arrays: dict[str, np.ndarray]) -> None:
    """Masks, when given, must be keyed and shaped like the network's arrays."""
    if masks is not None and (set(masks) != set(arrays)
                              or any(np.shape(masks[k]) != a.shape for k, a in arrays.items())):
        raise ValueError(f"masks must hold arrays shaped like net.arrays() ({', '.join(arrays)})")


def minibatches(n: int, batch: int, seed: SeedLike):
    """Row indices of successive minibatches: shuffled epochs of n rows drawn from child 0 of
    ``SeedSequence(seed)``, a new epoch when the current one has fewer than ``batch`` rows left."""
    rng = np.random.default_rng(child_seeds(seed, 1)[0])
    order, pos = rng.permutation(n), 0
    while True:
        if pos + batch > order.size:
            order, pos = rng.permutation(n), 0
        yield order[pos:pos + batch]
        pos += batch


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
    opt = SGDOptions.check(X.shape[0], lr, momentum, steps, batch, record_every, checkpoints)
    params = {k: v.copy() for k, v in net.arrays().items()}
    check_masks(masks, params)
    if masks is not None:
        params = {k: p * masks[k] for k, p in params.items()}
    velocity = {k: np.zeros_like(p) for k, p in params.items()}
    losses, saved, batches = [], [], minibatches(X.shape[0], opt.batch, seed)
    for step in range(opt.steps + 1):
        if step in opt.keep:
            saved.append((step, net.with_arrays({k: p.copy() for k, p in params.items()})))
        if step == opt.steps:
            break
        idx = next(batches)
        value, grads = loss_and_grads(net.with_arrays(params), X[idx], y[idx], cross_entropy)
        if not np.isfinite(value):
            return MLPTrainResult(net.with_arrays(params), np.array(losses), True, saved)
        if step % opt.record_every == 0:
            losses.append(value)
        for k, p in params.items():
            v = velocity[k]
            v *= opt.momentum
            v += grads[k] if masks is None else grads[k] * masks[k]
            p -= opt.lr * v
    return MLPTrainResult(net.with_arrays(params), np.array(losses), False, saved)
