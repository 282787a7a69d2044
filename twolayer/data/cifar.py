"""CIFAR-10 from its binary distribution (``cifar-10-batches-bin``), read without pickle.

Each file is a sequence of fixed 3073-byte records: one label byte (0-9), then the 32 x 32
image as 1024 red, 1024 green and 1024 blue bytes, rows in order. Training: ``data_batch_1.bin``
... ``data_batch_5.bin``; test: ``test_batch.bin`` (10 000 records each in the real files; any
positive number of records is accepted). A file whose size is not a whole number of records,
or a label outside 0-9, is refused with a message naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._resources import check_memory
from .idx import Dataset

RECORD = 1 + 3 * 32 * 32
IMAGE_SHAPE = (3, 32, 32)
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images of shape (n, 3, 32, 32) as uint8, labels of shape (n,)) from one binary batch file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    if not path.is_file():
        raise ValueError(f"{path}: not a file (a CIFAR-10 binary batch is expected)")
    if size == 0 or size % RECORD:
        raise ValueError(f"{path}: {size} bytes is not a positive whole number of {RECORD}-byte CIFAR-10 records "
                         "(truncated or not a cifar-10-batches-bin file)")
    check_memory(f"{path} ({size} bytes)", size)
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(f"{path}: record {bad} has label {labels[bad]} outside 0..9 (not a CIFAR-10 binary file?)")
    return records[:, 1:].reshape(-1, *IMAGE_SHAPE), labels


def is_cifar_dir(directory: Path) -> bool:
    """Whether ``directory`` (or its ``cifar-10-batches-bin`` subfolder) holds a CIFAR-10 batch."""
    return any((d / TEST_FILE).exists() or (d / TRAIN_FILES[0]).exists()
               for d in (directory, directory / "cifar-10-batches-bin"))


def load_cifar10(path: str | os.PathLike) -> Dataset:
    """CIFAR-10 from the folder of the binary batches (or its parent): pixels scaled to [0, 1],
    each image flattened channel-first (3 x 32 x 32, PyTorch's layout)."""
    directory = Path(path)
    if (directory / "cifar-10-batches-bin").is_dir():
        directory = directory / "cifar-10-batches-bin"
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory (give the cifar-10-batches-bin folder)")
    missing = [f for f in (*TRAIN_FILES, TEST_FILE) if not (directory / f).exists()]
    if missing:
        raise ValueError(f"{directory}: missing {', '.join(missing)} "
                         "(the six files of cifar-10-batches-bin are needed)")
    parts = [read_cifar_batch(directory / f) for f in TRAIN_FILES]
    X_test, y_test = read_cifar_batch(directory / TEST_FILE)
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    scale = 1.0 / 255.0
    return Dataset(X_train.reshape(X_train.shape[0], -1) * scale, y_train,
                   X_test.reshape(X_test.shape[0], -1) * scale, y_test, name="cifar10", shape=IMAGE_SHAPE)


def write_cifar_batch(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images (n, 3, 32, 32) and labels as a binary batch file; for tests and tools."""
    images = np.asarray(images, dtype=np.uint8).reshape(len(labels), -1)
    records = np.hstack([np.asarray(labels, dtype=np.uint8)[:, None], images])
    Path(path).write_bytes(records.tobytes())
