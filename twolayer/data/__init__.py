"""Real data sets: MNIST-1D (default, generated offline), MNIST IDX files, CIFAR-10 binary
batches, scikit-learn's digits; ``load_dataset(source)`` is the one entry. Teacher-labelled
data: ``Teacher.sample``."""

from .cifar import load_cifar10, read_cifar_batch, write_cifar_batch
from .digits import load_digits
from .idx import Dataset, load_mnist, one_hot, read_idx, write_idx
from .mnist1d import generate_mnist1d, load_mnist1d
from .sources import DATA_ENV, load_dataset

__all__ = ["DATA_ENV", "Dataset", "generate_mnist1d", "load_cifar10", "load_dataset", "load_digits", "load_mnist",
           "load_mnist1d", "one_hot", "read_cifar_batch", "read_idx", "write_cifar_batch", "write_idx"]
