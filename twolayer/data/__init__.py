"""Data: synthetic teacher-labelled inputs, MNIST IDX files, scikit-learn's digits."""

from .digits import DATA_ENV, load_dataset, load_digits
from .idx import Dataset, load_mnist, one_hot, read_idx, write_idx
from .synthetic import sample_inputs, teacher_dataset

__all__ = ["DATA_ENV", "Dataset", "load_dataset", "load_digits", "load_mnist", "one_hot", "read_idx",
           "sample_inputs", "teacher_dataset", "write_idx"]
