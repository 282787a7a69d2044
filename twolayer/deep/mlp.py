"""Deep ReLU MLPs: the model, its permutation specification and exact gradients.

Layers h_0 = x, h_l = sigma(W_l h_{l-1} + b_l) for l < L, output z = W_L h_{L-1} + b_L, with
W_l of shape (n_l, n_{l-1}). Every layer is one BLAS product forward and two backward: at
these sizes (batch 128, widths 512) BLAS is where the time goes, so the code is plain NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..network import NetworkKind
from ..objective import Classification
from ..output_loss import ClassificationLoss, classification_loss, squared_error
from ..permutation import PermutationSpec
from ..random import SeedLike, as_generator
from ..validation import check_array, check_enum, check_positive_int


@dataclass(frozen=True, eq=False)
class MLP:
    """Fully connected ReLU network.

    Parameters
    ----------
    weights : sequence of L arrays, W_l of shape (n_l, n_{l-1})
    biases : sequence of L arrays, b_l of shape (n_l,)

    Examples
    --------
    >>> net = MLP.init((4, 8, 3), seed=0)
    >>> net.sizes, net(np.zeros((2, 4))).shape
    ((4, 8, 3), (2, 3))
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    kind: ClassVar[NetworkKind] = NetworkKind.MLP

    def __post_init__(self):
        if len(self.weights) < 1 or len(self.weights) != len(self.biases):
            raise ValueError("weights and biases must be non-empty sequences of equal length")
        Ws, bs = [], []
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            W = check_array(f"weights[{layer}]", W, 2)
            b = check_array(f"biases[{layer}]", b, 1, (W.shape[0],))
            if layer and W.shape[1] != Ws[-1].shape[0]:
                raise ValueError(f"weights[{layer}] has {W.shape[1]} inputs; layer {layer - 1} has "
                                 f"{Ws[-1].shape[0]} outputs")
            Ws.append(W)
            bs.append(b)
        object.__setattr__(self, "weights", tuple(Ws))
        object.__setattr__(self, "biases", tuple(bs))

    @property
    def sizes(self) -> tuple[int, ...]:
        """(n_0, n_1, ..., n_L): input, hidden widths, outputs."""
        return (self.weights[0].shape[1], *(W.shape[0] for W in self.weights))

    @property
    def in_features(self) -> int:
        return self.sizes[0]

    @property
    def out_features(self) -> int:
        return self.sizes[-1]

    @property
    def depth(self) -> int:
        """L, the number of weight layers."""
        return len(self.weights)

    @property
    def has_batch_norm(self) -> bool:
        return False

    @classmethod
    def init(cls, sizes, seed: SeedLike = 0) -> MLP:
        """He initialisation W_l ~ N(0, 2/n_{l-1}), zero biases; sizes = (input, hidden..., output)."""
        sizes = [check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list the input, any hidden widths and the output; got {sizes}")
        rng = as_generator(seed)
        Ws = [rng.standard_normal((o, i)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
        return cls(tuple(Ws), tuple(np.zeros(o) for o in sizes[1:]))

    @classmethod
    def from_arrays(cls, *arrays) -> MLP:
        """An MLP from arrays as other libraries store them: W_1, b_1, W_2, b_2, ...

        Each W_l has shape (n_l, n_{l-1}) (PyTorch's ``Linear.weight`` layout); a last weight of
        shape (m,) is one output row. Biases may be None (zero).

        Examples
        --------
        >>> net = MLP.from_arrays(np.ones((3, 2)), np.zeros(3), np.ones(3), 0.5)
        >>> net.sizes
        (2, 3, 1)
        """
        if len(arrays) < 2 or len(arrays) % 2:
            raise ValueError(f"arrays must alternate weights and biases (W1, b1, W2, b2, ...); got {len(arrays)}")
        Ws, bs = [], []
        for layer in range(len(arrays) // 2):
            W = np.asarray(arrays[2 * layer], dtype=float)
            if layer and layer == len(arrays) // 2 - 1 and W.ndim == 1:
                W = W[None, :]
            W = check_array(f"W{layer + 1}", W, 2)
            b = arrays[2 * layer + 1]
            b = np.zeros(W.shape[0]) if b is None else np.atleast_1d(np.asarray(b, dtype=float))
            Ws.append(W)
            bs.append(check_array(f"b{layer + 1}", b, 1, (W.shape[0],)))
        return cls(tuple(Ws), tuple(bs))

    def layer_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Activations h_1, ..., h_{L-1} (rows are examples)."""
        H, out = np.asarray(X, dtype=float), []
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            H = np.maximum(H @ W.T + b, 0.0)
            out.append(H)
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        H = self.layer_outputs(X)
        last = H[-1] if H else np.asarray(X, dtype=float)
        return last @ self.weights[-1].T + self.biases[-1]

    # the network protocol of ``twolayer.network``
    @property
    def structure(self) -> tuple:
        return ("MLP", self.sizes)

    def arrays(self) -> dict[str, np.ndarray]:
        """{"W1": W_1, ..., "WL": W_L, "b1": b_1, ..., "bL": b_L}."""
        out = {f"W{layer + 1}": W for layer, W in enumerate(self.weights)}
        out.update({f"b{layer + 1}": b for layer, b in enumerate(self.biases)})
        return out

    def with_arrays(self, arrays: Mapping[str, np.ndarray]) -> MLP:
        L = self.depth
        return MLP(tuple(arrays[f"W{i}"] for i in range(1, L + 1)),
                   tuple(arrays[f"b{i}"] for i in range(1, L + 1)))

    def permutation_spec(self) -> PermutationSpec:
        """P_l (l = 1..L-1) acts on W_l (axis 0), b_l (axis 0) and W_{l+1} (axis 1)."""
        return PermutationSpec({f"P{layer}": ((f"W{layer}", 0), (f"b{layer}", 0), (f"W{layer + 1}", 1))
                                for layer in range(1, self.depth)})

    def hidden(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{"P_l": h_l} for every hidden layer l."""
        return {f"P{layer + 1}": H for layer, H in enumerate(self.layer_outputs(X))}

    def pre_activations(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{"P_l": W_l h_{l-1} + b_l} for every hidden layer l (rows are examples)."""
        inputs = [np.asarray(X, dtype=float), *self.layer_outputs(X)[:-1]]
        return {f"P{layer + 1}": H @ self.weights[layer].T + self.biases[layer] for layer, H in enumerate(inputs)}

    def with_unit_affine(self, name: str, scale: np.ndarray, shift: np.ndarray) -> MLP:
        """The MLP whose units of hidden layer ``name`` ("P_l") have pre-activations
        scale_i z_i + shift_i: W_l's rows scaled, b_l <- scale b_l + shift."""
        layer = int(name[1:])
        arrays = self.arrays()
        arrays[f"W{layer}"] = arrays[f"W{layer}"] * np.asarray(scale)[:, None]
        arrays[f"b{layer}"] = arrays[f"b{layer}"] * scale + shift
        return self.with_arrays(arrays)

    def with_batch_stats(self, X: np.ndarray, copy: bool = True) -> MLP:
        """The MLP itself (it has no BatchNorm)."""
        return self

    def second_moments(self, objective) -> dict[str, np.ndarray]:
        """{"W_l": E[h_{l-1} h_{l-1}^T]} for l = 1..L-1: the objective's input second moment, then
        the layers' activations on its inputs."""
        X = objective.inputs(self.in_features)
        moments = {"W1": objective.input_second_moment(self.in_features)}
        for layer, H in enumerate(self.layer_outputs(X)[:-1]):
            moments[f"W{layer + 2}"] = H.T @ H / H.shape[0]
        return moments

    def empirical_loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """1/(2n) sum_s (f(x_s) - y_s)^2 (one output)."""
        return squared_error(self(X), y)

    def loss_and_grads(self, objective) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, gradients keyed like ``arrays()``) under a ``Classification`` objective, by
        backpropagation (``loss_and_grads``)."""
        if not isinstance(objective, Classification):
            raise ValueError(f"the gradient of an MLP is taken under a Classification objective; "
                             f"got {type(objective).__name__}")
        return loss_and_grads(self, objective.X, objective.y, objective.loss_kind)


def check_mlp(name: str, net) -> MLP:
    """``net`` if it is an ``MLP``, else a ``ValueError`` naming the field."""
    if not isinstance(net, MLP):
        raise ValueError(f"{name} must be a twolayer MLP; got {type(net).__name__}")
    return net


def loss_and_grads(net: MLP, X: np.ndarray, y: np.ndarray, loss: ClassificationLoss = ClassificationLoss.CE
                   ) -> tuple[float, dict[str, np.ndarray]]:
    """(mean loss, gradients keyed like ``net.arrays()``) by backpropagation.

    Cross-entropy: dl/dz = softmax(z) - onehot(y); squared loss 1/2 |z - onehot(y)|^2:
    dl/dz = z - onehot(y); both averaged over the n rows (``twolayer.output_loss``).
    """
    loss = check_enum("loss", loss, ClassificationLoss)
    Hs = [X, *net.layer_outputs(X)]
    n = X.shape[0]
    value, G = classification_loss(Hs[-1] @ net.weights[-1].T + net.biases[-1], y, loss, grad=True)
    G /= n
    grads = {}
    for layer in range(net.depth - 1, -1, -1):
        grads[f"W{layer + 1}"] = G.T @ Hs[layer]
        grads[f"b{layer + 1}"] = G.sum(0)
        if layer:
            G = (G @ net.weights[layer]) * (Hs[layer] > 0)
    return value, grads
