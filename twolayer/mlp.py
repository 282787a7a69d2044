"""Deep ReLU MLPs on real data: model, losses, minibatch SGD with momentum, barriers.

Layers h_0 = x, h_l = sigma(W_l h_{l-1} + b_l) for l < L, output z = W_L h_{L-1} + b_L.
Losses: cross-entropy of softmax(z) (``ce``) or 1/2 |z - onehot(y)|^2 (``mse``), averaged
over examples. Training is minibatch SGD with heavy-ball momentum,
v <- mu v + grad, theta <- theta - lr v. Every layer is one BLAS product forward and two
backward: at these sizes (batch 128, widths 512) BLAS is where the time goes, so the step is
plain NumPy on BLAS, with no per-example Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_array, check_choice, check_positive_float, check_positive_int
from .barriers import BarrierResult, path_barrier
from .model import SeedLike, as_generator, child_seeds

LOSSES = ("ce", "mse")


@dataclass(frozen=True, eq=False)
class MLP:
    """Weights W_l of shape (n_l, n_{l-1}) and biases b_l of shape (n_l,)."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

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
        return (self.weights[0].shape[1], *(W.shape[0] for W in self.weights))

    @classmethod
    def init(cls, sizes, seed: SeedLike = 0) -> MLP:
        """He initialisation W_l ~ N(0, 2/n_{l-1}), zero biases; sizes = (input, hidden..., output)."""
        sizes = [check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list the input, any hidden widths and the output; got {sizes}")
        rng = as_generator(seed)
        Ws = [rng.standard_normal((o, i)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
        return cls(tuple(Ws), tuple(np.zeros(o) for o in sizes[1:]))

    def hidden(self, X: np.ndarray) -> list[np.ndarray]:
        """Activations h_1, ..., h_{L-1} (rows are examples)."""
        H, out = X, []
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            H = np.maximum(H @ W.T + b, 0.0)
            out.append(H)
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        H = self.hidden(X)
        last = H[-1] if H else X
        return last @ self.weights[-1].T + self.biases[-1]

    def params(self) -> list[np.ndarray]:
        return [*self.weights, *self.biases]

    def with_params(self, params: list[np.ndarray]) -> MLP:
        L = len(self.weights)
        return MLP(tuple(params[:L]), tuple(params[L:]))


def interpolate_mlp(A: MLP, B: MLP, t: float) -> MLP:
    """t theta_A + (1 - t) theta_B."""
    if A.sizes != B.sizes:
        raise ValueError(f"A and B must have the same sizes; got {A.sizes} and {B.sizes}")
    return A.with_params([t * p + (1 - t) * q for p, q in zip(A.params(), B.params())])


def loss_and_grads(net: MLP, X: np.ndarray, y: np.ndarray, loss: str = "ce"):
    """(mean loss, gradients laid out like ``net.params()``)."""
    Hs = [X, *net.hidden(X)]
    Z = Hs[-1] @ net.weights[-1].T + net.biases[-1]
    n = X.shape[0]
    if loss == "ce":
        Z = Z - Z.max(1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
        value = -logp[np.arange(n), y].mean()
        G = np.exp(logp)
        G[np.arange(n), y] -= 1.0
    else:
        G = Z.copy()
        G[np.arange(n), y] -= 1.0
        value = 0.5 * (G * G).sum(1).mean()
    G /= n
    gW, gb = [], []
    for layer in range(len(net.weights) - 1, -1, -1):
        gW.append(G.T @ Hs[layer])
        gb.append(G.sum(0))
        if layer:
            G = (G @ net.weights[layer]) * (Hs[layer] > 0)
    return float(value), [*gW[::-1], *gb[::-1]]


def check_labelled(net: MLP, X, y) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) validated for ``net``: X finite real of shape (n, net.sizes[0]), y n integer labels
    in [0, number of outputs)."""
    X = check_array("X", X, 2, (None, net.sizes[0]))
    y = np.asarray(y)
    classes = net.sizes[-1]
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= classes:
        raise ValueError(f"y must hold {X.shape[0]} integer labels in [0, {classes})")
    return X, y


def evaluate(net: MLP, X: np.ndarray, y: np.ndarray, loss: str = "ce") -> tuple[float, float]:
    """(mean loss, error rate) on (X, y)."""
    check_choice("loss", loss, LOSSES)
    return _scores(net, *check_labelled(net, X, y), loss)


def _scores(net: MLP, X: np.ndarray, y: np.ndarray, loss: str) -> tuple[float, float]:
    """``evaluate`` on validated inputs."""
    Z = net(X)
    if loss == "ce":
        Z = Z - Z.max(1, keepdims=True)
        value = float(-(Z[np.arange(y.size), y] - np.log(np.exp(Z).sum(1))).mean())
    else:
        T = np.zeros_like(Z)
        T[np.arange(y.size), y] = 1.0
        value = float(0.5 * ((Z - T) ** 2).sum(1).mean())
    return value, float(np.mean(Z.argmax(1) != y))


@dataclass
class MLPTrainResult:
    net: MLP
    losses: np.ndarray
    diverged: bool
    checkpoints: list[tuple[int, MLP]] = field(default_factory=list)


def train_mlp(net: MLP, X: np.ndarray, y: np.ndarray, loss: str = "ce", lr: float = 0.05,
              steps: int = 1000, batch: int = 128, momentum: float = 0.9, seed: SeedLike = 0,
              checkpoints=None, record_every: int = 50, masks=None) -> MLPTrainResult:
    """Minibatch SGD with momentum on shuffled epochs; divergence (non-finite loss) stops the
    run and is reported. ``checkpoints``: steps at which to keep a copy of the network;
    ``masks``: 0/1 arrays like ``net.params()`` holding pruned weights at zero."""
    check_choice("loss", loss, LOSSES)
    lr = check_positive_float("lr", lr)
    momentum = check_positive_float("momentum", momentum, allow_zero=True)
    steps = check_positive_int("steps", steps, minimum=0)
    batch = check_positive_int("batch", batch)
    X, y = check_labelled(net, X, y)
    batch = min(batch, X.shape[0])
    rng = np.random.default_rng(child_seeds(seed, 1)[0])
    keep = set() if checkpoints is None else {int(s) for s in checkpoints}
    params = [p.copy() for p in net.params()]
    if masks is not None:
        if len(masks) != len(params) or any(m.shape != p.shape for m, p in zip(masks, params)):
            raise ValueError("masks must match net.params() in number and shapes")
        params = [p * m for p, m in zip(params, masks)]
    velocity = [np.zeros_like(p) for p in params]
    losses, saved, order, pos = [], [], rng.permutation(X.shape[0]), 0
    for step in range(steps + 1):
        if step in keep:
            saved.append((step, net.with_params([p.copy() for p in params])))
        if step == steps:
            break
        if pos + batch > order.size:
            order, pos = rng.permutation(X.shape[0]), 0
        idx = order[pos:pos + batch]
        pos += batch
        value, grads = loss_and_grads(net.with_params(params), X[idx], y[idx], loss)
        if not np.isfinite(value):
            return MLPTrainResult(net.with_params(params), np.array(losses), True, saved)
        if step % record_every == 0:
            losses.append(value)
        for j, (p, v, g) in enumerate(zip(params, velocity, grads)):
            v *= momentum
            v += g if masks is None else g * masks[j]
            p -= lr * v
    return MLPTrainResult(net.with_params(params), np.array(losses), False, saved)


def mlp_barrier(A: MLP, B: MLP, X: np.ndarray, y: np.ndarray, loss: str = "ce", ts=None,
                kind: str = "sup") -> tuple[BarrierResult, BarrierResult]:
    """(loss barrier, error barrier) along t theta_A + (1 - t) theta_B on held-out (X, y).
    The error barrier (error = 1 - accuracy, piecewise constant in t) is the maximum over
    the grid; it lies in [-1, 1]."""
    check_choice("loss", loss, LOSSES)
    X, y = check_labelled(A, X, y)
    path = lambda t: interpolate_mlp(A, B, t)  # noqa: E731
    res_loss = path_barrier(path, lambda net: _scores(net, X, y, loss)[0], ts, kind)
    errors = np.array([_scores(path(t), X, y, loss)[1] for t in res_loss.ts])
    base = res_loss.ts * errors[-1] + (1 - res_loss.ts) * errors[0]
    gaps = errors - (0.5 * (errors[-1] + errors[0]) if kind == "endpoints_mean" else base)
    j = int(np.argmax(gaps)) if kind != "midpoint" else int(np.argmin(np.abs(res_loss.ts - 0.5)))
    res_err = BarrierResult(float(gaps[j]), float(res_loss.ts[j]), res_loss.ts, errors, errors[-1], errors[0],
                            kind, "error")
    res_loss.loss = loss
    return res_loss, res_err
