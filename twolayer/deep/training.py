"""Minibatch SGD with heavy-ball momentum for MLPs on a classification objective.

v <- mu v + grad,  theta <- theta - lr v, on minibatches of shuffled epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..output_loss import ClassificationLoss
from ..random import SeedLike, child_seeds, epoch_batches
from ..train_result import TrainLoss, TrainResult
from ..validation import check_positive_float, check_positive_int
from .mlp import MLP, loss_and_grads


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

    def result(self, net, losses: list[float], steps: int, diverged: bool, saved: list) -> TrainResult:
        """The ``TrainResult`` of a run stopped after ``steps`` updates, its minibatch losses
        recorded every ``record_every`` steps."""
        return TrainResult(net, np.array(losses), np.arange(len(losses)) * self.record_every, steps, diverged, False,
                           TrainLoss.MINIBATCH, saved)


def check_masks(masks: dict[str, np.ndarray] | None, arrays: dict[str, np.ndarray]) -> None:
    """Masks, when given, must be keyed and shaped like the network's arrays."""
    if masks is not None and (set(masks) != set(arrays)
                              or any(np.shape(masks[k]) != a.shape for k, a in arrays.items())):
        raise ValueError(f"masks must hold arrays shaped like net.arrays() ({', '.join(arrays)})")


def minibatches(n: int, batch: int, seed: SeedLike):
    """The minibatches of the deep networks' SGD: ``epoch_batches`` from child 0 of
    ``SeedSequence(seed)`` (drawn when the first batch is asked for)."""
    yield from epoch_batches(n, batch, np.random.default_rng(child_seeds(seed, 1)[0]))


def train_sgd(net: MLP, X: np.ndarray, y: np.ndarray, loss: ClassificationLoss = ClassificationLoss.CE,
              lr: float = 0.05, steps: int = 1000, batch: int = 128, momentum: float = 0.9, seed: SeedLike = 0,
              checkpoints=None, record_every: int = 50, masks: dict[str, np.ndarray] | None = None) -> TrainResult:
    """Minibatch SGD with momentum on labelled data (X, y), validated by the caller
    (``twolayer.train`` with a ``Classification`` objective).

    Parameters
    ----------
    net : MLP
    X : array of shape (n, d); y : integer labels of shape (n,)
    loss : ClassificationLoss
        Cross-entropy of softmax(z) (CE) or 1/2 |z - onehot(y)|^2 (MSE).
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

    Returns
    -------
    TrainResult
        The minibatch losses every ``record_every`` steps (``TrainLoss.MINIBATCH``); a non-finite
        loss stops the run, reported as diverged.
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
        value, grads = loss_and_grads(net.with_arrays(params), X[idx], y[idx], loss)
        if not np.isfinite(value):
            return opt.result(net.with_arrays(params), losses, step, True, saved)
        if step % opt.record_every == 0:
            losses.append(value)
        for k, p in params.items():
            v = velocity[k]
            v *= opt.momentum
            v += grads[k] if masks is None else grads[k] * masks[k]
            p -= opt.lr * v
    return opt.result(net.with_arrays(params), losses, opt.steps, False, saved)
