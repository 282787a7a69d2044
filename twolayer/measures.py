"""Empirical measures of neurons, Wasserstein distances between them, intrinsic dimension.

measure="neurons"      mu = (1/m) sum_i delta_(m c a_i, w_i): the network is f = E_mu[alpha sigma(w.x)]
                       (a teacher: (1/k) sum_j delta_(k b_j, v_j))
measure="output_mass"  nu = sum_i rho_i delta_(w_i/|w_i|), rho_i = c |a_i| |w_i| / sum_l c |a_l| |w_l|:
                       where the output mass sits on the sphere (a teacher: rho_j from b_j |v_j|)

W_p(mu, nu) = (min_P sum_ij P_ij |x_i - y_j|^p)^(1/p) over couplings P. For two uniform
measures of equal size this is an assignment problem (Birkhoff), solved exactly by scipy;
otherwise POT's network simplex (``ot.emd2``); ``sliced=True`` uses POT's sliced estimate.
"""

from __future__ import annotations

import numpy as np

from .assignment import assignment, squared_distances
from .model import Student, Teacher, check_student
from .random import SeedLike, as_generator
from .validation import check_array, check_choice, check_positive_float, check_positive_int

MEASURES = ("neurons", "output_mass")


def neuron_measure(net: Student | Teacher, measure: str = "neurons"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(points, weights) of a network's neuron measure (module docstring).

    Parameters
    ----------
    net : Student or Teacher
    measure : {"neurons", "output_mass"}

    Returns
    -------
    points : array of shape (m, d + 1) (``neurons``: rows (m c a_i, w_i)) or (m', d)
        (``output_mass``: directions w_i/|w_i| of the neurons with mass)
    weights : array of shape (m,) or (m',), summing to 1
    """
    check_choice("measure", measure, MEASURES)
    if isinstance(net, Teacher):
        if measure == "neurons":
            return np.column_stack([net.k * net.b, net.V]), np.full(net.k, 1.0 / net.k)
        W = net.V
    else:
        check_student("net", net, "a twolayer.Student or Teacher")
        if measure == "neurons":
            return np.column_stack([net.m * net.c * net.a, net.W]), np.full(net.m, 1.0 / net.m)
        W = net.W
    norms = np.linalg.norm(W, axis=1)
    mass = net.output_mass
    if mass.sum() <= 0:
        raise ValueError("the network has no output mass (all a_i |w_i| are 0)")
    keep = mass > 0
    return W[keep] / norms[keep, None], mass[keep] / mass.sum()


def wasserstein(A: Student | Teacher, B: Student | Teacher, p: float = 2,
                measure: str = "neurons", sliced: bool = False, projections: int = 200,
                seed: SeedLike = 0) -> float:
    """W_p(mu_A, mu_B) = (min_P sum_ij P_ij |x_i - y_j|^p)^(1/p) between neuron measures.

    Parameters
    ----------
    A, B : Student or Teacher
        Same input dimension.
    p : float
        The order (>= 1).
    measure : {"neurons", "output_mass"}
        Which neuron measure (``neuron_measure``).
    sliced : bool
        POT's sliced estimate with ``projections`` random directions drawn with ``seed``
        instead of the exact value.

    Returns
    -------
    float

    References
    ----------
    D. Ferbach, B. Goujaud, G. Gidel, A. Dieuleveut. Proving linear mode connectivity of
    neural networks via optimal transport. AISTATS 2024. arXiv:2310.19103.
    """
    p = check_positive_float("p", p)
    if p < 1:
        raise ValueError(f"p must be >= 1; got {p}")
    X, a = neuron_measure(A, measure)
    Y, b = neuron_measure(B, measure)
    if A.d != B.d:
        raise ValueError(f"A and B must have the same input dimension; got {A.d} and {B.d}")
    import ot  # POT imports every array backend it finds (PyTorch: seconds): only when needed

    if sliced:
        projections = check_positive_int("projections", projections)
        return float(ot.sliced_wasserstein_distance(X, Y, a, b, n_projections=projections, p=p,
                                                    seed=as_generator(seed).integers(2**31)))
    C = squared_distances(X, Y) ** (p / 2)
    if X.shape[0] == Y.shape[0] and np.allclose(a, a[0]) and np.allclose(b, b[0]):
        perm = assignment(C)
        return float(C[np.arange(X.shape[0]), perm].mean() ** (1 / p))
    return float(ot.emd2(a, b, C) ** (1 / p))


def participation_dimension(points: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Participation ratio tr(S)^2 / tr(S^2) of the (weighted) covariance S of the points:
    1 for points on a line, d for an isotropic cloud in R^d."""
    X = check_array("points", points, 2)
    w = (np.full(X.shape[0], 1.0 / X.shape[0]) if weights is None
         else check_array("weights", weights, 1, (X.shape[0],)))
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    w = w / w.sum()
    Xc = (X - w @ X) * np.sqrt(w)[:, None]
    # S = Xc^T Xc and the Gram Xc Xc^T share their nonzero spectrum: use the smaller one
    S = Xc.T @ Xc if Xc.shape[1] <= Xc.shape[0] else Xc @ Xc.T
    tr2 = np.sum(S * S)
    return float(np.trace(S) ** 2 / tr2) if tr2 > 0 else 0.0
