"""scikit-learn's bundled handwritten digits (8 x 8, 1797 images): the last fallback."""

from __future__ import annotations

import numpy as np

from .idx import Dataset


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """The digits shipped with scikit-learn (optional extra ``digits``), pixels scaled to
    [0, 1], split at random into train and test."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ValueError("the digits data set needs scikit-learn: pip install -e '.[digits]'") from None
    X, y = sk_load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(y.size)
    cut = int(round(y.size * (1 - test_fraction)))
    X = X / 16.0
    return Dataset(X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]], name="digits",
                   shape=(1, 8, 8))
