"""NumPy reference implementations of every numba kernel (the tests hold the kernels to these).

Closed forms for Gaussian inputs x ~ N(0, I_d) (sphere inputs: multiply by 1/d):

    K(w, v) = E[sigma(w.x) sigma(v.x)] = |w||v| (sin phi + (pi - phi) cos phi) / (2 pi)
    grad_w K(w, v) = ((pi - phi) v + |v| sin phi  w/|w|) / (2 pi)

with phi the angle between w and v. A zero-norm neuron has K = 0 and zero gradient
(sigma'(0) = 0, the convention of the empirical gradient).

Population loss, with f = c sum_i a_i sigma(w_i.x) and f* = sum_j b_j sigma(v_j.x):

    R = 1/2 c^2 sum_{i,i'} a_i a_i' K(w_i, w_i') - c sum_{i,j} a_i b_j K(w_i, v_j)
        + 1/2 sum_{j,j'} b_j b_j' K(v_j, v_j')
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def pair_angles(W1: np.ndarray, W2: np.ndarray, same: bool = False):
    """Dot products S, norms n1, n2, pi - phi and sin phi for every pair of rows.

    Pairs involving a zero-norm row get cos phi = 0; their K and gradient vanish
    through the norms. ``same`` marks W1 is W2, whose diagonal gets phi = 0 exactly.
    """
    S = W1 @ W2.T
    n1 = np.linalg.norm(W1, axis=1)
    n2 = np.linalg.norm(W2, axis=1)
    denom = np.outer(n1, n2)
    cos = np.divide(S, denom, out=np.zeros_like(S), where=denom > 0)
    np.clip(cos, -1.0, 1.0, out=cos)
    if same:
        np.fill_diagonal(cos, 1.0)
    theta = np.pi - np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    return S, n1, n2, theta, sin


def arccos_kernel(W1: np.ndarray, W2: np.ndarray, same: bool = False) -> np.ndarray:
    """K(w_i, v_j) for every row w_i of W1 and v_j of W2 (Gaussian inputs)."""
    S, n1, n2, theta, sin = pair_angles(W1, W2, same)
    return (np.outer(n1, n2) * sin + theta * S) / TWO_PI


def population_terms(a, W, V, b, c: float, scale: float, need_grad: bool = True):
    """(R, dR/da, dR/dW) in closed form; ``scale`` is 1 (Gaussian) or 1/d (sphere)."""
    S, nw, _, th_s, sin_s = pair_angles(W, W, same=True)
    T, _, nv, th_t, sin_t = pair_angles(W, V)
    Kss = (np.outer(nw, nw) * sin_s + th_s * S) / TWO_PI
    Kst = (np.outer(nw, nv) * sin_t + th_t * T) / TWO_PI
    Ktt = arccos_kernel(V, V, same=True)
    loss = 0.5 * c * c * a @ Kss @ a - c * a @ Kst @ b + 0.5 * b @ Ktt @ b
    if not need_grad:
        return scale * loss, None, None
    ga = c * c * Kss @ a - c * Kst @ b
    U = np.divide(W, nw[:, None], out=np.zeros_like(W), where=nw[:, None] > 0)
    alive = (nw > 0)[:, None]
    direct = c * c * (th_s * a) @ W - c * (th_t * b) @ V
    radial = c * c * (sin_s @ (a * nw)) - c * (sin_t @ (b * nv))
    gW = alive * a[:, None] * (direct + radial[:, None] * U) / TWO_PI
    return scale * loss, scale * ga, scale * gW


def empirical_terms(X, y, a, W, c: float):
    """(L, dL/da, dL/dW) for L = 1/(2n) sum_s (f(x_s) - y_s)^2, materialising the n x m activations."""
    n = X.shape[0]
    Z = X @ W.T
    H = np.maximum(Z, 0.0)
    r = c * (H @ a) - y
    ga = c * (H.T @ r) / n
    gW = c * a[:, None] * (((Z > 0) * r[:, None]).T @ X) / n
    return 0.5 * (r @ r) / n, ga, gW


def squared_distances(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """C_ij = |p_i - q_j|^2 = |p_i|^2 + |q_j|^2 - 2 p_i.q_j, clipped at 0."""
    C = (P * P).sum(1)[:, None] + (Q * Q).sum(1)[None, :] - 2.0 * (P @ Q.T)
    return np.maximum(C, 0.0, out=C)
