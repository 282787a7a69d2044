"""Permutation symmetries of networks: the specification, applying it, and the linear mix.

A network's hidden units can be reordered without changing its function. Following Git
Re-Basin (Ainsworth, Hayase & Srinivasa 2023), a network describes these symmetries by a
**permutation specification**: for each permutation P, the (parameter, axis) pairs it acts
on. Two-layer student f(x) = c sum_i a_i sigma(w_i . x)::

    P  acts on  a (axis 0), W (axis 0)

MLP with hidden layers 1..L-1 (W_l of shape (n_l, n_{l-1}))::

    P_l  acts on  W_l (axis 0), b_l (axis 0), W_{l+1} (axis 1)

Every network of the package has ``arrays()`` (name -> array), ``with_arrays``,
``permutation_spec()`` and ``hidden(X)`` (the activations each permutation reorders): the
network protocol, ``twolayer.network``; so permuting, mixing parameters and matching are
written once for all of them (the paths between networks built on ``mix``: ``twolayer.paths``).

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin: merging models modulo permutation
symmetries. ICLR 2023. arXiv:2209.04836.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .network import Network, network_kind
from .validation import check_positive_float


@dataclass(frozen=True)
class PermutationSpec:
    """For each permutation name, the (parameter name, axis) pairs it acts on.

    ``unscored`` names arrays that are permuted but not compared by weight matching: the
    running statistics of BatchNorm, which are estimates of the data, not learned weights.
    ``blocks`` gives, for a permutation that must keep its units within contiguous groups of
    equal size (GroupNorm's groups of channels), the number of groups g: matching searches the
    block-diagonal permutations (unit i stays in group floor(i g / n)), one assignment per group;
    moving units across groups changes the group statistics. (Moving whole groups is also a
    symmetry; it is not searched.)
    """

    axes: Mapping[str, tuple[tuple[str, int], ...]]
    unscored: frozenset[str] = frozenset()
    blocks: Mapping[str, int] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.axes)

    def groups(self, name: str) -> int:
        """The number of groups permutation ``name`` must keep its units in (1: any permutation)."""
        return int(self.blocks.get(name, 1))

    def size(self, arrays: Mapping[str, np.ndarray], name: str) -> int:
        """The number of units permutation ``name`` reorders."""
        param, axis = self.axes[name][0]
        return arrays[param].shape[axis]


def check_perm(perm, n: int, name: str = "perm", groups: int = 1) -> np.ndarray:
    """``perm`` as an int64 array holding a permutation of range(n) that keeps every unit within
    its group of n / groups contiguous units."""
    p = np.asarray(perm)
    if p.shape != (n,) or not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape ({n},); got {p.dtype} {p.shape}")
    if not np.array_equal(np.sort(p), np.arange(n)):
        raise ValueError(f"{name} must be a permutation of range({n})")
    size = n // groups
    if groups > 1 and np.any(p // size != np.arange(n) // size):
        raise ValueError(f"{name} must move units only within their groups of {size} (GroupNorm's {groups} groups)")
    return p.astype(np.int64)


def check_compatible(A: Network, B: Network) -> None:
    """A and B must be networks of one class and one structure (widths, scaling...)."""
    for label, net in (("A", A), ("B", B)):
        if network_kind(net) is None:
            raise ValueError(f"{label} must be a twolayer network (Student, MLP or TorchNetwork; PyTorch modules: "
                             f"twolayer.from_torch); got {type(net).__name__}")
    if A.kind is not B.kind:
        raise ValueError(f"A and B must be networks of one kind; got {type(A).__name__} and {type(B).__name__}")
    if A.structure != B.structure:
        raise ValueError(f"A and B must have the same structure; got {A.structure} and {B.structure} "
                         "(students of unequal widths: method='ot')")


def as_perms(net: Network, perms) -> dict[str, np.ndarray]:
    """Permutations by name: a dict, a sequence in the spec's order, or one array when the
    network has a single permutation; each checked."""
    spec = net.permutation_spec()
    arrays = net.arrays()
    if isinstance(perms, Mapping):
        given = dict(perms)
    elif len(spec.names) == 1 and np.ndim(perms) == 1:
        given = {spec.names[0]: perms}
    else:
        perms = list(perms)
        if len(perms) != len(spec.names):
            raise ValueError(f"perms must hold one permutation per hidden layer ({len(spec.names)}); "
                             f"got {len(perms)}")
        given = dict(zip(spec.names, perms))
    if set(given) != set(spec.names):
        raise ValueError(f"perms must name exactly {', '.join(spec.names)}; got {', '.join(map(str, given))}")
    return {name: check_perm(given[name], spec.size(arrays, name), f"perms[{name!r}]", spec.groups(name))
            for name in spec.names}


def permute_arrays(spec: PermutationSpec, perms: Mapping[str, np.ndarray],
                   arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every array with each of its permuted axes reordered: unit i <- unit perm[i]."""
    out = dict(arrays)
    for name, pairs in spec.axes.items():
        for param, axis in pairs:
            out[param] = np.take(out[param], perms[name], axis=axis)
    return out


def permute(net: Network, perms) -> Network:
    """The same function with hidden units reordered: unit i of each layer <- unit perms[i].

    Parameters
    ----------
    net : Student or MLP
    perms : array of shape (m,) (a network with one hidden layer), sequence of arrays (one per
        hidden layer) or dict keyed by the permutation names of ``net.permutation_spec()``.

    Examples
    --------
    >>> import numpy as np, twolayer as tl
    >>> s = tl.Student.init(3, 2, seed=0)
    >>> X = np.ones((1, 2))
    >>> bool(np.allclose(tl.permute(s, [2, 0, 1])(X), s(X)))
    True
    """
    return net.with_arrays(permute_arrays(net.permutation_spec(), as_perms(net, perms), net.arrays()))


def mix(A: Network, B: Network, t: float) -> Network:
    """The network theta(t) = t theta_A + (1 - t) theta_B, parameter by parameter (t = 1 gives A,
    t = 0 gives B): the plain linear path, for networks of one structure (``check_compatible``,
    checked once per pair by the caller; ``twolayer.interpolate`` checks it and also repairs).
    """
    return mixer(A, B)(t)


def mixer(A: Network, B: Network) -> Callable[[float], Network]:
    """t -> ``mix(A, B, t)``, with A's and B's arrays read once (a path evaluated at many t)."""
    pa, pb = A.arrays(), B.arrays()

    def at(t: float) -> Network:
        t = check_positive_float("t", t, allow_zero=True)
        if t > 1:
            raise ValueError(f"t must lie in [0, 1]; got {t}")
        return A.with_arrays({k: t * pa[k] + (1 - t) * pb[k] for k in pa})

    return at
