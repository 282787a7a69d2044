"""Readers for the IDX files of MNIST (raw or gzip) and the data-set container.

IDX: a 4-byte magic number 0x00 0x00 <type> <ndim> (type 0x08 = unsigned byte), then ndim
big-endian uint32 sizes, then the data. Every malformed file gets a ValueError naming the
file and the problem.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._resources import check_memory

UBYTE = 0x08
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test inputs (rows) and integer labels; ``name`` says which data set and
    ``shape`` what one row is (channels, then length or height and width), which convolutional
    networks read; default: a flat vector."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    shape: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.shape is None:
            object.__setattr__(self, "shape", (self.X_train.shape[1],))
        elif math.prod(self.shape) != self.X_train.shape[1]:
            raise ValueError(f"shape {self.shape} does not hold the {self.X_train.shape[1]} features of a row")

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def standardized(self) -> Dataset:
        """z-score every feature with the training mean and standard deviation (constant
        features are centred only)."""
        mu = self.X_train.mean(0)
        sd = self.X_train.std(0)
        sd[sd == 0] = 1.0
        return Dataset((self.X_train - mu) / sd, self.y_train, (self.X_test - mu) / sd, self.y_test, self.name,
                       self.shape)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """The first n_train / n_test examples."""
        return Dataset(self.X_train[:n_train], self.y_train[:n_train], self.X_test[:n_test],
                       self.y_test[:n_test], self.name, self.shape)


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((y.size, classes))
    out[np.arange(y.size), y] = 1.0
    return out


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array of the given rank from ``path`` (gzip if it ends in .gz).

    The file is read as a stream: the header first, then exactly the number of bytes it
    declares (refused up front if that exceeds the available memory), then one byte more to
    check that the file ends there. A file that is longer than its header says (for a .gz: one
    that decompresses beyond its declared size) is refused, so nothing larger is ever held.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return _read_idx_stream(f, path, ndim)
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not an IDX file") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: unreadable ({e})") from None


def _read_idx_stream(f, path: Path, ndim: int) -> np.ndarray:
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"{path}: truncated header ({len(magic)} bytes)")
    if magic[0] != 0 or magic[1] != 0 or magic[2] != UBYTE or magic[3] != ndim:
        raise ValueError(f"{path}: wrong magic number 0x{int.from_bytes(magic, 'big'):08x}; expected "
                         f"0x{0x800 + ndim:08x} (unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated header ({4 + len(dims)} of {4 + 4 * ndim} bytes)")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    size = math.prod(shape)
    try:
        check_memory(f"{path} (header shape {shape})", size)
    except ValueError as e:
        raise ValueError(f"{e}; refusing to read it") from None
    data = f.read(size)
    if len(data) < size:
        raise ValueError(f"{path}: {len(data)} data bytes; the header {shape} says {size}")
    if f.read(1):
        raise ValueError(f"{path}: more data than the header {shape} declares ({size} bytes); refusing to read on")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an unsigned-byte array as IDX (gzip if ``path`` ends in .gz); for tests and tools."""
    array = np.asarray(array, dtype=np.uint8)
    data = bytes([0, 0, UBYTE, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data += array.tobytes()
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise ValueError(f"{directory}: no {stem} or {stem}.gz (the four MNIST IDX files are needed)")


def load_mnist(path: str | os.PathLike) -> Dataset:
    """MNIST from a directory holding the four standard IDX files (raw or .gz): pixels scaled
    to [0, 1] and flattened, integer labels."""
    directory = Path(path)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory (give the folder with the MNIST IDX files)")
    parts, shapes = {}, {}
    for split in ("train", "test"):
        img_path = _find(directory, MNIST_FILES[f"{split}_images"])
        lab_path = _find(directory, MNIST_FILES[f"{split}_labels"])
        images, labels = read_idx(img_path, 3), read_idx(lab_path, 1)
        if images.shape[0] == 0 or images.shape[1] * images.shape[2] == 0:
            raise ValueError(f"{img_path}: holds {images.shape[0]} images of {images.shape[1]} x {images.shape[2]} "
                             "pixels; need at least one image of at least one pixel")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{img_path}: {images.shape[0]} images but {lab_path} has {labels.shape[0]} labels")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{lab_path}: label {labels.max()} outside 0..9")
        shapes[split] = (1, *images.shape[1:])
        parts[split] = (images.reshape(images.shape[0], -1).astype(np.float64) / 255.0, labels.astype(np.int64))
    if parts["train"][0].shape[1] != parts["test"][0].shape[1]:
        raise ValueError(f"{directory}: train images have {parts['train'][0].shape[1]} pixels, "
                         f"test images {parts['test'][0].shape[1]}")
    return Dataset(*parts["train"], *parts["test"], name="mnist", shape=shapes["train"])
