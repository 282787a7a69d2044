"""The network protocol: everything the package asks of a network, in one place.

``Student`` (``twolayer.model``), ``MLP`` (``twolayer.deep.mlp``) and ``TorchNetwork``
(``twolayer.deep.torchnet``) each implement every member below, so that objectives, matching,
barriers, repair, merging and training are written once for all of them and never test a
network's class:

==================================  ==========================================================
member                              what it gives
==================================  ==========================================================
``kind``                            the ``NetworkKind`` tag: the one key of the registries that
                                    list which networks a method or objective takes
``in_features``, ``out_features``   n_0, the features of an input row, and the outputs
``structure``                       a tuple equal for networks of one shape (``check_compatible``)
``__call__(X)``                     outputs of the rows of X, shape (n,) or (n, outputs)
``arrays()``, ``with_arrays(a)``    parameters by name, and the network with new ones
``permutation_spec()``              the hidden-unit symmetries (``twolayer.permutation``)
``hidden(X)``                       {permutation: activations (samples, units)}
``pre_activations(X)``              {permutation: pre-activations (samples, units)}
``with_unit_affine(name, s, b)``    units' pre-activations z_i -> s_i z_i + b_i (REPAIR)
``has_batch_norm``                  whether the network normalises by batch statistics
``with_batch_stats(X, copy)``       BatchNorm statistics recomputed on X (itself without BN;
                                    ``copy=False``: in place, for a network no one else holds)
``second_moments(objective)``       {weight: E[h h^T] of its input h} (``weights_cov``)
``empirical_loss(X, y)``            1/(2n) sum_s (f(x_s) - y_s)^2 (``Empirical``)
``loss_and_grads(objective)``       (R(theta), dR/d arrays) under the objective (``ste``)
==================================  ==========================================================

A member a kind of network cannot provide (a bias-free ``Student`` cannot shift a unit, a
``TorchNetwork`` has no layer inputs for ``second_moments``) raises a ``ValueError`` saying
what to use instead; the registries keep such a call from being made.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:  # permutation.py builds on this module
    from .permutation import PermutationSpec


class NetworkKind(Enum):
    """The kinds of network of the package (values: their class names, as messages print them)."""

    STUDENT = "Student"   #: two-layer, bias-free, exact population loss (``twolayer.Student``)
    MLP = "MLP"           #: fully connected with biases, NumPy (``twolayer.MLP``)
    TORCH = "TorchNetwork"  #: any traceable PyTorch module (``twolayer.TorchNetwork``)


class Network(Protocol):
    """What a network offers to the rest of the package (module docstring)."""

    kind: ClassVar[NetworkKind]

    @property
    def in_features(self) -> int: ...
    @property
    def out_features(self) -> int: ...
    @property
    def structure(self) -> tuple: ...
    @property
    def has_batch_norm(self) -> bool: ...
    def __call__(self, X: np.ndarray) -> np.ndarray: ...
    def arrays(self) -> dict[str, np.ndarray]: ...
    def with_arrays(self, arrays: Mapping[str, np.ndarray]) -> Any: ...
    def permutation_spec(self) -> PermutationSpec: ...
    def hidden(self, X: np.ndarray) -> dict[str, np.ndarray]: ...
    def pre_activations(self, X: np.ndarray) -> dict[str, np.ndarray]: ...
    def with_unit_affine(self, name: str, scale: np.ndarray, shift: np.ndarray) -> Any: ...
    def with_batch_stats(self, X: np.ndarray, copy: bool = True) -> Any: ...
    def second_moments(self, objective) -> dict[str, np.ndarray]: ...
    def empirical_loss(self, X: np.ndarray, y: np.ndarray) -> float: ...
    def loss_and_grads(self, objective) -> tuple[float, dict[str, np.ndarray]]: ...


def network_kind(net) -> NetworkKind | None:
    """``net.kind`` for a network of the package, None for anything else.

    Examples
    --------
    >>> import twolayer as tl
    >>> network_kind(tl.Student.init(3, 2)), network_kind("a string")
    (<NetworkKind.STUDENT: 'Student'>, None)
    """
    kind = getattr(net, "kind", None)
    return kind if isinstance(kind, NetworkKind) else None
