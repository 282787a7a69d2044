"""Losses of a network's outputs against targets: each written once in NumPy and once in PyTorch.

=================  =========================================================  ===============
loss               per example (z the outputs, e_y the one-hot label)          used by
=================  =========================================================  ===============
squared error      1/2 (z - y)^2, y real                                       ``Empirical``
cross-entropy      -log softmax(z)_y = log sum_c exp z_c - z_y                  ``Classification``,
one-hot MSE        1/2 |z - e_y|^2                                             MLP backprop,
                                                                               PyTorch training
=================  =========================================================  ===============

Each is averaged over the n examples. ``classification_loss`` also returns the gradient with
respect to the outputs, dl/dz = softmax(z) - e_y (cross-entropy) or z - e_y (MSE), per example
(not divided by n), which the MLP's backpropagation starts from; ``torch_classification_loss``
is the same loss on tensors, for autograd (PyTorch networks).
"""

from __future__ import annotations

from enum import Enum

import numpy as np


class ClassificationLoss(Enum):
    """Per-example loss of the logits z against the label y."""

    CE = "ce"    #: cross-entropy -log softmax(z)_y
    MSE = "mse"  #: 1/2 |z - onehot(y)|^2


def squared_error(Z: np.ndarray, y: np.ndarray) -> float:
    """1/(2n) sum_s (z_s - y_s)^2 of outputs Z of shape (n,) or (n, 1) and targets y of shape (n,).

    Examples
    --------
    >>> squared_error(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    1.25
    """
    r = np.asarray(Z, dtype=float).reshape(-1) - y
    return float(0.5 * np.mean(r * r))


def classification_loss(Z: np.ndarray, y: np.ndarray, kind: ClassificationLoss, grad: bool = False
                        ) -> tuple[float, np.ndarray | None]:
    """(mean loss, dl/dz per example or None) of logits Z of shape (n, classes) and labels y (n,).

    Cross-entropy, with Z shifted by its row maxima for stability (log p = Z - log sum exp Z):
    mean_s -log p_{s, y_s}, dl/dz = p - e_y. MSE: mean_s 1/2 |z_s - e_{y_s}|^2, dl/dz = z - e_y.

    Examples
    --------
    >>> Z, y = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    >>> round(classification_loss(Z, y, ClassificationLoss.CE)[0], 6)
    0.220095
    >>> classification_loss(Z, y, ClassificationLoss.MSE, grad=True)[1].tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    rows = np.arange(y.size)
    G = None
    if kind is ClassificationLoss.CE:
        Z0 = Z - Z.max(1, keepdims=True)
        logp = Z0 - np.log(np.exp(Z0).sum(1, keepdims=True))
        value = -logp[rows, y].mean()
        if grad:
            G = np.exp(logp)
            G[rows, y] -= 1.0
    else:
        D = np.array(Z, dtype=float)
        D[rows, y] -= 1.0
        value = 0.5 * (D * D).sum(1).mean()
        G = D if grad else None
    return float(value), G


def torch_classification_loss(Z, y, kind: ClassificationLoss):
    """``classification_loss``'s value as a differentiable PyTorch scalar of logits Z (n, classes)
    and integer labels y (n,) (PyTorch's ``cross_entropy``, or the one-hot MSE in Z's dtype)."""
    from .deep.torchnet import torch_module  # torch only when a PyTorch network asks

    functional = torch_module().nn.functional
    if kind is ClassificationLoss.CE:
        return functional.cross_entropy(Z, y)
    return 0.5 * ((Z - functional.one_hot(y, Z.shape[1]).to(Z.dtype)) ** 2).sum(1).mean()
