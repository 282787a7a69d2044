"""Aligning deep MLPs: one permutation per hidden layer.

permute_mlp(B, perms): hidden unit i of layer l becomes unit perms[l][i]: rows of W_l and
b_l and columns of W_{l+1} move together, so the function is unchanged.

weights       Git Re-Basin coordinate descent: for a layer l (random order each sweep), with the
              other layers' permutations fixed, maximise
              sum_i <W^A_l[i], W^B_l[pi_l(i)] P_{l-1}> + b^A_l[i] b^B_l[pi_l(i)]
                    + <W^A_{l+1}[:, i], P_{l+1} W^B_{l+1}[:, pi_l(i)]>
              by linear assignment; stop when a sweep changes no layer.
weights_cov   the same with the incoming weights compared in the inner product of the layer
              input's second moment, w^T Sigma_{l-1} w' (Sigma from A's activations on X).
activations   for each layer independently, the assignment maximising the correlation of
              A's and B's hidden activations on X.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_array, check_choice, check_positive_int
from .matching import assignment
from .mlp import MLP
from .model import SeedLike, as_generator

METHODS = ("weights", "weights_cov", "activations")


def permute_mlp(net: MLP, perms) -> MLP:
    """The same function with hidden units reordered layer by layer."""
    if len(perms) != len(net.weights) - 1:
        raise ValueError(f"perms must hold one permutation per hidden layer ({len(net.weights) - 1})")
    Ws, bs = list(net.weights), list(net.biases)
    for layer, p in enumerate(perms):
        p = np.asarray(p)
        if not np.array_equal(np.sort(p), np.arange(Ws[layer].shape[0])):
            raise ValueError(f"perms[{layer}] must be a permutation of range({Ws[layer].shape[0]})")
        Ws[layer], bs[layer] = Ws[layer][p], bs[layer][p]
        Ws[layer + 1] = Ws[layer + 1][:, p]
    return MLP(tuple(Ws), tuple(bs))


def _layer_inputs(net: MLP, X: np.ndarray) -> list[np.ndarray]:
    return [X, *net.hidden(X)]


def match_mlp(A: MLP, B: MLP, method: str = "weights", X: np.ndarray | None = None,
              max_sweeps: int = 100, seed: SeedLike = 0) -> list[np.ndarray]:
    """Permutations aligning B with A (module docstring); X is needed by weights_cov and activations."""
    check_choice("method", method, METHODS)
    if A.sizes != B.sizes:
        raise ValueError(f"A and B must have the same sizes; got {A.sizes} and {B.sizes}")
    hidden = len(A.weights) - 1
    if method != "weights":
        if X is None:
            raise ValueError(f"method={method!r} needs inputs X")
        X = check_array("X", X, 2, (None, A.sizes[0]))
    if method == "activations":
        perms = []
        for HA, HB in zip(A.hidden(X), B.hidden(X)):
            HA, HB = HA - HA.mean(0), HB - HB.mean(0)
            sa, sb = np.linalg.norm(HA, axis=0), np.linalg.norm(HB, axis=0)
            sa[sa == 0], sb[sb == 0] = np.inf, np.inf
            perms.append(assignment(-(HA.T @ HB) / np.outer(sa, sb)))
        return perms
    sigmas = ([None] * (hidden + 1) if method == "weights"
              else [H.T @ H / H.shape[0] for H in _layer_inputs(A, X)])
    perms = [np.arange(n) for n in A.sizes[1:-1]]
    rng = as_generator(seed)
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    for _ in range(max_sweeps):
        changed = False
        for layer in rng.permutation(hidden):
            WB_in = B.weights[layer] if layer == 0 else B.weights[layer][:, perms[layer - 1]]
            WA_in = A.weights[layer] if sigmas[layer] is None else A.weights[layer] @ sigmas[layer]
            score = WA_in @ WB_in.T + np.outer(A.biases[layer], B.biases[layer])
            WB_out = B.weights[layer + 1] if layer + 1 == hidden else B.weights[layer + 1][perms[layer + 1]]
            score += A.weights[layer + 1].T @ WB_out
            new = assignment(-score)
            if not np.array_equal(new, perms[layer]):
                perms[layer], changed = new, True
        if not changed:
            break
    return perms
