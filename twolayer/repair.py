"""REPAIR and RESCALE: interpolated networks with their units' statistics reset.

Interpolating two aligned networks shrinks the variance of their units' pre-activations
("variance collapse", Jordan et al. 2023). REPAIR resets, for each hidden unit i of the network
theta(t) = t theta_A + (1 - t) pi(theta_B), the mean and standard deviation of its
pre-activation z_i over the inputs to the interpolation of the endpoints' statistics,

    mu*_i(t) = t mu^A_i + (1 - t) mu^B_i,    sigma*_i(t) = t sigma^A_i + (1 - t) sigma^B_i,
    z_i  <-  sigma*_i (z_i - mu_i) / sigma_i + mu*_i,

layer after layer (each layer's statistics measured with the layers below already repaired) and
folded into the unit's incoming weights and bias. RESCALE resets the standard deviation only,
z_i <- (sigma*_i / sigma_i) z_i. A unit with sigma_i = 0 is shifted (REPAIR), not scaled.

Two ways of getting the statistics:

* **data** (MLP, PyTorch networks without BatchNorm, students under an empirical objective): the
  objective's inputs; networks offer ``pre_activations(X)`` and ``with_unit_affine(name, scale,
  shift)``. A bias-free student cannot shift a unit, so it takes RESCALE only.
* **exact** (students under a ``Population`` objective): for x ~ N(0, I_d) or uniform on the
  sphere, w.x has mean 0 and standard deviation |w| sqrt(s_d) (s_d the law's moment scale), and
  sigma(w.x) has mean and standard deviation |w| times constants of the law (``unit_moments``).
  Every statistic of a unit is proportional to |w_i|, so both REPAIR and RESCALE set
  |w_i(t)| to t |w^A_i| + (1 - t) |w^B_pi(i)| and the repaired path needs no data.

Networks with BatchNorm are repaired by recomputing their statistics (``recompute_bn``, on by
default in the barriers), Jordan et al.'s remedy for them; ``repair=`` refuses them.

References
----------
K. Jordan, H. Sedghi, O. Saukh, R. Entezari, B. Neyshabur. REPAIR: REnormalizing Permuted
Activations for Interpolation Repair. ICLR 2023. arXiv:2211.08403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum

import numpy as np
from scipy.special import gammaln

from .laws import Gaussian, InputLaw, input_law
from .model import Student
from .objective import Objective, Population
from .permutation import mix
from .validation import check_array, check_enum


class Repair(Enum):
    """What is reset along an interpolation path (module docstring)."""

    NONE = "none"        #: nothing: the plain linear path
    REPAIR = "repair"    #: each unit's pre-activation mean and standard deviation
    RESCALE = "rescale"  #: each unit's pre-activation standard deviation only


def check_repair(repair) -> Repair:
    """``repair`` as a ``Repair`` (a member or its value), else a ``ValueError`` naming the field."""
    return check_enum("repair", repair, Repair)


def unit_moments(W: np.ndarray, law: InputLaw | str = "gaussian") -> dict[str, np.ndarray]:
    """Exact moments of each neuron's pre- and post-activation under an input law.

    With u = w.x / |w|: for x ~ N(0, I_d), u ~ N(0, 1); for x uniform on S^{d-1}, u is a
    coordinate of a uniform unit vector, E u^2 = 1/d and E|u| = Gamma(d/2) / (sqrt(pi)
    Gamma((d+1)/2)). By symmetry E sigma(u) = E|u| / 2 and E sigma(u)^2 = E u^2 / 2, so

        E[w.x] = 0,   sd(w.x) = |w| sqrt(E u^2),
        E[sigma(w.x)] = |w| E|u| / 2,   sd(sigma(w.x)) = |w| sqrt(E u^2 / 2 - (E|u| / 2)^2).

    Parameters
    ----------
    W : array of shape (m, d)
        Neurons w_i (rows).
    law : InputLaw or {"gaussian", "sphere"}

    Returns
    -------
    dict
        ``pre_sd``, ``post_mean``, ``post_sd``: arrays of shape (m,) (the pre-activation mean is 0).

    Examples
    --------
    >>> import numpy as np
    >>> mom = unit_moments(np.array([[3.0, 4.0]]))
    >>> round(float(mom["pre_sd"][0]), 6), round(float(mom["post_mean"][0]), 6)  # 5, 5/sqrt(2 pi)
    (5.0, 1.994711)
    """
    W = check_array("W", W, 2)
    law = input_law(law)
    d = W.shape[1]
    second = law.moment_scale(d)  # E u^2: 1 Gaussian, 1/d sphere
    if isinstance(law, Gaussian):
        first = np.sqrt(2.0 / np.pi)
    else:
        first = np.exp(gammaln(d / 2) - gammaln((d + 1) / 2)) / np.sqrt(np.pi)
    norms = np.linalg.norm(W, axis=1)
    return {"pre_sd": norms * np.sqrt(second), "post_mean": norms * first / 2,
            "post_sd": norms * np.sqrt(second / 2 - (first / 2) ** 2)}


def _exact_student(mid: Student, norms_A: np.ndarray, norms_B: np.ndarray, t: float) -> Student:
    """theta(t) = ``mid`` with each neuron scaled to norm t |w^A_i| + (1 - t) |w^B_i| (module docstring)."""
    goal = t * norms_A + (1 - t) * norms_B
    now = np.linalg.norm(mid.W, axis=1)
    scale = np.divide(goal, now, out=np.ones_like(now), where=now > 0)
    return mid.with_params(mid.a, mid.W * scale[:, None])


def _statistics(net, X: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and standard deviation of every unit's pre-activation over X, by permutation name."""
    return {name: (Z.mean(0), Z.std(0)) for name, Z in net.pre_activations(X).items()}


def _data_path(plain: Callable[[float], object], names, stats_A: dict, stats_B: dict, X: np.ndarray,
               mode: Repair) -> Callable[[float], object]:
    """t -> ``plain(t)`` repaired layer by layer (the units ``names``, in order) on the inputs X
    towards the interpolation of the endpoints' unit statistics ``stats_A``, ``stats_B`` (module
    docstring)."""

    def path(t: float):
        net = plain(t)
        for name in names:
            mean, sd = _statistics(net, X)[name]
            goal_mean = t * stats_A[name][0] + (1 - t) * stats_B[name][0]
            goal_sd = t * stats_A[name][1] + (1 - t) * stats_B[name][1]
            scale = np.divide(goal_sd, sd, out=np.ones_like(sd), where=sd > 0)
            shift = goal_mean - scale * mean if mode is Repair.REPAIR else np.zeros_like(mean)
            net = net.with_unit_affine(name, scale, shift)
        return net

    return path


def repaired_path(A, B, objective: Objective, repair: Repair | str,
                  inputs: np.ndarray | None = None) -> Callable[[float], object]:
    """The path t -> theta(t) with ``repair`` applied at every t (t = 1 gives A, t = 0 gives B).

    Parameters
    ----------
    A, B : Student, MLP or TorchNetwork
        Networks of one structure (``check_compatible``), B already aligned with A: checked by
        the caller, once per pair (``twolayer.paths``).
    objective : Objective
        A ``Population`` objective gives students the exact form; any other gives its inputs
        to the data form.
    repair : Repair or {"none", "repair", "rescale"}
    inputs : array of shape (n, features), optional
        The inputs of the data form instead of the objective's, checked by the caller
        (``check_array``; the barriers' ``recompute_bn``).

    Returns
    -------
    callable t -> network

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 3)
    >>> A, B = tl.Student.init(4, 3, seed=0), tl.Student.init(4, 3, seed=1)
    >>> path = repaired_path(A, B, tl.Population(T), "repair")
    >>> bool(abs(tl.population_loss(path(1.0), T) - tl.population_loss(A, T)) < 1e-12)
    True

    References
    ----------
    K. Jordan et al. REPAIR. ICLR 2023. arXiv:2211.08403.
    """
    mode = check_repair(repair)
    plain = functools.partial(mix, A, B)
    if mode is Repair.NONE:
        return plain
    if isinstance(objective, Population) and inputs is None:
        norms_A, norms_B = np.linalg.norm(A.W, axis=1), np.linalg.norm(B.W, axis=1)
        return lambda t: _exact_student(plain(t), norms_A, norms_B, t)
    if A.has_batch_norm:
        raise ValueError("repair applies to networks without BatchNorm; for BatchNorm networks recompute_bn "
                         "(on by default) resets the statistics along the path")
    X = objective.inputs(A.in_features) if inputs is None else inputs
    return _data_path(plain, A.permutation_spec().names, _statistics(A, X), _statistics(B, X), X, mode)
