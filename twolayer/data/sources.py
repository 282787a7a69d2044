"""One entry to the real data sets: a name (``mnist1d``, ``digits``) or a folder (MNIST IDX
files, or CIFAR-10's binary batches)."""

from __future__ import annotations

import sys
from pathlib import Path

from .cifar import is_cifar_dir, load_cifar10
from .digits import load_digits
from .idx import Dataset, load_mnist
from .mnist1d import load_mnist1d

DATA_ENV = "TWOLAYER_DATA"
#: data sets made without files, by name
BUILTIN = {"mnist1d": load_mnist1d, "digits": load_digits}
DEFAULT = "mnist1d"


def load_dataset(source: str | None = None, verbose: bool = True) -> Dataset:
    """The data set named by ``source``.

    Parameters
    ----------
    source : str, optional
        ``"mnist1d"`` (default: MNIST-1D generated offline, ``twolayer.data.load_mnist1d``),
        ``"digits"`` (scikit-learn's 8 x 8 digits), or a folder holding the four MNIST IDX files
        or CIFAR-10's ``cifar-10-batches-bin`` files.
    verbose : bool
        Say on stderr which data set was loaded and its size.
    """
    source = source or DEFAULT
    if source in BUILTIN:
        data = BUILTIN[source]()
        where = source
    else:
        folder = Path(source)
        if not folder.exists():
            raise ValueError(f"data {source!r}: not a folder and not one of {', '.join(BUILTIN)}")
        data = load_cifar10(folder) if is_cifar_dir(folder) else load_mnist(folder)
        where = f"{data.name} from {folder}"
    if verbose:
        print(f"data set: {where}: {data.X_train.shape[0]} train, {data.X_test.shape[0]} test, "
              f"inputs {' x '.join(map(str, data.shape))}, {data.classes} classes", file=sys.stderr)
    return data
