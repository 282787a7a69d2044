"""scikit-learn's bundled handwritten digits (8 x 8, 1797 images): the built-in fallback."""

from __future__ import annotations

import os
import sys

import numpy as np

from .idx import Dataset, load_mnist

DATA_ENV = "TWOLAYER_DATA"


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """The digits shipped with scikit-learn (optional extra ``digits``), pixels scaled to
    [0, 1], split at random into train and test."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ValueError("the digits fallback needs scikit-learn: pip install -e '.[digits]' "
                         f"(or give MNIST with --data DIR or {DATA_ENV})") from None
    X, y = sk_load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(y.size)
    cut = int(round(y.size * (1 - test_fraction)))
    X = X / 16.0
    return Dataset(X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]], name="digits")


def load_dataset(path: str | None = None, verbose: bool = True) -> Dataset:
    """MNIST from ``path`` or $TWOLAYER_DATA; otherwise the bundled digits, saying so."""
    path = path or os.environ.get(DATA_ENV)
    data = load_mnist(path) if path else load_digits()
    if verbose:
        source = (f"MNIST from {path}" if path
                  else f"scikit-learn digits (no MNIST path given; set --data or {DATA_ENV})")
        print(f"data set: {source}: {data.X_train.shape[0]} train, {data.X_test.shape[0]} test", file=sys.stderr)
    return data
