"""Data: MNIST IDX files and scikit-learn's digits (teacher-labelled data: ``Teacher.sample``)."""

from .digits import DATA_ENV, load_dataset, load_digits
from .idx import Dataset, load_mnist, one_hot, read_idx, write_idx

__all__ = ["DATA_ENV", "Dataset", "load_dataset", "load_digits", "load_mnist", "one_hot", "read_idx", "write_idx"]
