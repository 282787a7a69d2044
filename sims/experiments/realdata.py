"""Shared pieces of the real-data experiments: the data set, training MLP pairs, sparsity."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

import twolayer as tl
from twolayer.data import Dataset, load_dataset
from twolayer.random import child
from twolayer.validation import check_positive_float, check_positive_int


@dataclass(frozen=True)
class RealConfig:
    """Fields shared by the real-data experiments. data: MNIST directory ("" = $TWOLAYER_DATA,
    else the bundled digits); n_train: training examples used (0 = all)."""

    data: str = ""
    n_train: int = 0
    width: int = 128
    depth: int = 1
    lr: float = 0.05
    steps: int = 1500
    batch: int = 128
    replicate: int = 0

    def __post_init__(self):
        check_positive_int("n_train", self.n_train, minimum=0)
        for name in ("width", "depth", "steps", "batch"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("replicate", self.replicate, minimum=0)
        check_positive_float("lr", self.lr)

    def sizes(self, data: Dataset) -> tuple[int, ...]:
        return (data.X_train.shape[1], *([self.width] * self.depth), data.classes)


@lru_cache(maxsize=4)
def dataset(path: str, n_train: int) -> Dataset:
    """Standardised MNIST from ``path`` (or $TWOLAYER_DATA), else the digits; the first n_train
    training examples when n_train > 0."""
    data = load_dataset(path or None, verbose=False).standardized()  # the command line names it once
    return data.subset(n_train or None)


def train_objective(data: Dataset) -> tl.Classification:
    """Cross-entropy on the training set (what the networks are trained on)."""
    return tl.Classification(data.X_train, data.y_train)


def test_objective(data: Dataset) -> tl.Classification:
    """Cross-entropy and error rate on the held-out set (what barriers are measured in)."""
    return tl.Classification(data.X_test, data.y_test)


def train_pair(data: Dataset, sizes, seq, lr: float, steps: int, batch: int, count: int = 2,
               checkpoints=None) -> list[tl.MLPTrainResult]:
    """``count`` MLPs trained on the data from the children 0..count-1 of the run's stream."""
    objective = train_objective(data)
    return [tl.train(tl.MLP.init(sizes, child(seq, 2 * i)), objective, "sgd", lr=lr, steps=steps,
                     batch=batch, seed=child(seq, 2 * i + 1), checkpoints=checkpoints)
            for i in range(count)]


def effective_units(net: tl.MLP) -> float:
    """Participation ratio of the last hidden layer's output mass |W_L[:, i]| |W_{L-1}[i]|."""
    mass = np.linalg.norm(net.weights[-1], axis=0) * np.linalg.norm(net.weights[-2], axis=1)
    return float(mass.sum() ** 2 / (mass**2).sum()) if mass.sum() > 0 else 0.0
