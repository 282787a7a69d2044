"""Random streams: every random draw in the package starts from a seed through these helpers.

A seed is an int, a ``numpy.random.SeedSequence``, a ``numpy.random.Generator`` or None.
Independent streams for the parts of one run are the children of ``SeedSequence(seed)``,
so a run is reproducible from (config, seed) and adding a stream never shifts the others.
Minibatches without replacement come from one schedule, ``epoch_batches``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import numpy as np

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def _check_seed(seed: SeedLike) -> None:
    if seed is None or isinstance(seed, (np.random.SeedSequence, np.random.Generator)):
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, a SeedSequence or a Generator; got {seed!r}")


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int, a SeedSequence, a Generator (returned as is) or None.

    Examples
    --------
    >>> bool(as_generator(0).integers(10) == as_generator(0).integers(10))
    True
    """
    _check_seed(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def child_seeds(seed: SeedLike, count: int) -> list[np.random.SeedSequence]:
    """The first ``count`` children of ``SeedSequence(seed)``, without mutating ``seed``.

    Equal to ``SeedSequence(seed).spawn(count)`` for an int seed; a Generator contributes
    one draw from its stream.
    """
    _check_seed(seed)
    if isinstance(seed, np.random.Generator):
        base = np.random.SeedSequence(int(seed.integers(2**63)))
    elif isinstance(seed, np.random.SeedSequence):
        base = seed
    else:
        base = np.random.SeedSequence(seed)
    return [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                   pool_size=base.pool_size) for i in range(count)]


def child(seed: SeedLike, i: int) -> np.random.SeedSequence:
    """Child ``i`` of ``SeedSequence(seed)`` (the i-th of ``child_seeds``)."""
    return child_seeds(seed, i + 1)[i]


def named_child(seed: int, name: dict) -> np.random.SeedSequence:
    """The stream of root seed ``seed`` named by ``name`` rather than by a position.

    ``SeedSequence(seed, spawn_key=(h,))`` with h the first 60 bits of the SHA-256 of ``name``
    as JSON (keys sorted): streams of different names are independent, whatever else is drawn
    and in whatever order, and a name gives the same stream wherever it is computed (a sweep's
    runs, and initialisations shared by several runs).

    Parameters
    ----------
    seed : int
        The root seed, >= 0.
    name : dict
        JSON-serialisable (enum members that subclass str count as their value).

    Returns
    -------
    numpy.random.SeedSequence

    Examples
    --------
    >>> a = named_child(0, {"run": 1})
    >>> a.entropy, a.spawn_key == named_child(0, {"run": 1}).spawn_key
    (0, True)
    >>> a.spawn_key == named_child(0, {"run": 2}).spawn_key
    False
    """
    _check_seed(seed)
    blob = json.dumps(name, sort_keys=True)
    return np.random.SeedSequence(seed, spawn_key=(int(hashlib.sha256(blob.encode()).hexdigest()[:15], 16),))


def epoch_batches(n: int, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices of successive minibatches without replacement: shuffled epochs of n rows, each
    cut into n // batch batches (the tail of an epoch is dropped, so that no batch straddles two
    epochs); each epoch's order is ``rng.permutation(n)``, drawn when its first batch is.

    Examples
    --------
    >>> batches = epoch_batches(5, 2, np.random.default_rng(0))
    >>> [len(set(next(batches)) | set(next(batches))) for _ in range(3)]  # two disjoint batches an epoch
    [4, 4, 4]
    """
    if not 1 <= batch <= n:
        raise ValueError(f"batch must lie in [1, n = {n}] to draw without replacement; got {batch}")

    def epochs():
        while True:
            order = rng.permutation(n)
            for start in range(0, n - batch + 1, batch):
                yield order[start:start + batch]

    return epochs()
