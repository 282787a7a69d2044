"""MNIST-1D (Greydanus & Kobak 2024), generated offline by the ``mnist1d`` package.

The package builds the data set procedurally from ten 12-point templates it ships: each
example is a template padded, scaled, translated, sheared and given correlated and iid noise,
then resampled to 40 points; the whole set is centred and scaled to unit standard deviation.
With the package's documented defaults (``mnist1d.data.get_dataset_args()``: 5000 examples,
train split 0.8) that is 4000 training and 1000 test examples of 40 features in 10 classes.
Nothing is downloaded and no pickle is read: the arrays are generated from (defaults, seed)
and cached as an ``.npz`` file.

References
----------
S. Greydanus, D. Kobak. Scaling down deep learning with MNIST-1D. ICML 2024. arXiv:2011.14439.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .idx import Dataset

#: the seed of the package's own defaults (``get_dataset_args().seed``)
MNIST1D_SEED = 42
CACHE_ENV = "TWOLAYER_CACHE"


def cache_dir() -> Path:
    """Where generated data sets are cached: $TWOLAYER_CACHE, else $XDG_CACHE_HOME/twolayer,
    else ~/.cache/twolayer (never inside the repository)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "twolayer"


def generate_mnist1d(seed: int = MNIST1D_SEED) -> dict[str, np.ndarray]:
    """The four arrays x, y, x_test, y_test made by ``mnist1d.data.make_dataset`` with the
    package's default arguments and ``seed`` (the global NumPy random state it reseeds is
    restored afterwards)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ValueError("MNIST-1D needs the mnist1d package: pip install -e '.[mnist1d]'") from None
    args = get_dataset_args()
    args.seed = int(seed)
    state = np.random.get_state()  # noqa: NPY002 (mnist1d reseeds the legacy global generator)
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return {k: np.asarray(made[k]) for k in ("x", "y", "x_test", "y_test")}


def load_mnist1d(seed: int = MNIST1D_SEED, cache: str | os.PathLike | None = None) -> Dataset:
    """MNIST-1D as a ``Dataset`` (inputs of shape (1, 40): one channel of 40 points).

    Parameters
    ----------
    seed : int
        The generator's seed (42: the data set of the paper).
    cache : path, optional
        Folder for the cached ``mnist1d-seed{seed}.npz`` (default ``cache_dir()``). A cache
        file that cannot be read is regenerated; one that cannot be written is skipped.
    """
    seed = int(seed)
    path = Path(cache or cache_dir()) / f"mnist1d-seed{seed}.npz"
    arrays = None
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):
            arrays = None
    if arrays is None:
        arrays = generate_mnist1d(seed)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        except OSError:
            pass
    return Dataset(arrays["x"].astype(np.float64), arrays["y"].astype(np.int64),
                   arrays["x_test"].astype(np.float64), arrays["y_test"].astype(np.int64),
                   name="mnist1d", shape=(1, arrays["x"].shape[1]))
