"""Predicted barrier modulo permutation versus the student width m (docs/theory.md, sec. 3).

The curve is the expectation, over pairs of independent minima drawn from an allocation
model (``theory.minima``), of the exact barrier of ``theory.barrier.condensed_barrier``:
by enumeration of the ray counts where that is small (``exact_expected_barrier``, equal
split), by Monte Carlo over the closed form otherwise (``predicted_curve``).

Its shape: at m = k both minima put one neuron on each ray and coincide up to permutation
(barrier 0); just above k the ray counts of the two networks differ while few inactive
neurons can absorb the difference, which forces cross-ray pairs (a peak); for large m
the count differences |n_j - n'_j| ~ m^(1/2) are absorbed by inactive neurons and

    equal split:  D_j ~ b |n_j - n'_j| / (m q),   E[barrier] ~ C_k / m,
    C_k = b^2 (1 - q) / (16 q) [ (g_d + g_o) k + g_o k (k - 1) kappa(rho) ],

with q the probability of a ray, g_d = 1/2 - 1/(2 pi), g_o = 1/(2 pi), rho = -q / (1 - q)
the correlation of two rays' count differences and kappa(rho) = (2/pi)((1 - rho^2)^(1/2)
+ rho asin rho) = E|X||Y| / Var for a standard normal pair. Nothing depends on d: the whole
computation happens in the span of the k teacher rays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from twolayer import SeedLike, Teacher, as_generator

from .barrier import CondensedBarrier, condensed_barrier
from .fits import SlopeFit, loglog_slope
from .minima import INACTIVE, minimum_from_rays, sample_minimum, type_probabilities

#: large-m exponent of E[barrier] ~ m^exponent by mass split (dirichlet: up to log factors)
ASYMPTOTIC_EXPONENT = {"equal": -1.0, "dirichlet": -2.0}


def ray_probability(k: int, allocation: str = "uniform", r: float = 0.5) -> float:
    """q = P(a neuron lies on a given ray)."""
    return float(type_probabilities(k, allocation, r)[0])


def asymptotic_constant(k: int, q: float, b: float = 1.0) -> float:
    """C_k of E[barrier] ~ C_k / m for the equal split (module docstring)."""
    g_d, g_o = 0.5 - 0.5 / np.pi, 0.5 / np.pi
    rho = -q / (1 - q)
    kappa = (2 / np.pi) * (np.sqrt(1 - rho**2) + rho * np.arcsin(rho))
    return b**2 * (1 - q) / (16 * q) * ((g_d + g_o) * k + g_o * k * (k - 1) * kappa)


def count_vectors(m: int, k: int):
    """Every (n_1, ..., n_k, z) with n_j >= 1 and sum m."""
    def rec(left, parts):
        if parts == 1:
            yield (left,)
            return
        for first in range(left + 1):
            for rest in rec(left - first, parts - 1):
                yield (first, *rest)
    for extra in rec(m - k, k + 1):
        yield tuple(e + (1 if j < k else 0) for j, e in enumerate(extra))


def exact_expected_barrier(teacher: Teacher, m: int, allocation: str = "uniform", r: float = 0.5,
                           max_pairs: int = 20_000, **model) -> float:
    """E[barrier] over pairs of minima with the equal split, by enumerating the ray counts of
    both networks (multinomial, conditioned on every ray being covered). With the equal split a
    minimum is determined up to permutation by its counts, so this is exact."""
    if model.get("split", "equal") != "equal":
        raise ValueError("exact enumeration needs split='equal' (a Dirichlet split is continuous)")
    from scipy.stats import multinomial  # scipy.stats: 0.6 s to import, only when used

    k = teacher.k
    probs = type_probabilities(k, allocation, r)
    vectors = list(count_vectors(m, k))
    if len(vectors) ** 2 > max_pairs:
        raise ValueError(f"{len(vectors) ** 2} count pairs exceed max_pairs={max_pairs}; use predicted_curve")
    weights = np.array([multinomial.pmf(v, m, probs) for v in vectors])
    weights /= weights.sum()
    nets = [minimum_from_rays(teacher, np.repeat(np.r_[np.arange(k), INACTIVE], v), **model)
            for v in vectors]
    total = 0.0
    for wa, A in zip(weights, nets):
        for wb, B in zip(weights, nets):
            total += wa * wb * condensed_barrier(A, B, teacher).value
    return float(total)


class PredictedCurve(NamedTuple):
    """E[barrier] per width: ``mean``, its standard error ``sem``, ``numerical`` the fraction of
    sampled pairs whose barrier needed the numerical path maximisation (cross-ray pairs), and
    ``zero`` the fraction of pairs connected exactly (barrier at most ``zero_floor``: every ray holds
    as many neurons in one minimum as in the other, where the frozen-output mismatch D vanishes)."""

    mean: np.ndarray
    sem: np.ndarray
    numerical: np.ndarray
    zero: np.ndarray


def sample_barriers(teacher: Teacher, m: int, n_pairs: int, seed: SeedLike = 0, **model) -> list[CondensedBarrier]:
    """Exact barriers mod P of ``n_pairs`` independent pairs of sampled minima of width m."""
    rng = as_generator(seed)
    out = []
    for _ in range(n_pairs):
        A = sample_minimum(teacher, m, seed=rng, **model)
        B = sample_minimum(teacher, m, seed=rng, **model)
        out.append(condensed_barrier(A, B, teacher))
    return out


def sampled_slope(teacher: Teacher, widths, floor: float, n_boot: int = 2000, seed: SeedLike = 0,
                  **model) -> SlopeFit:
    """The tail slope of the barrier between sampled minima, by the estimator GD's slope is measured with.

    One pair of sampled minima for each entry of ``widths`` (pass the widths of the measured pairs,
    so that the design — which widths, how many pairs at each — is the same), then the least-squares
    slope of log B on log m over the pairs with B > ``floor`` and its percentile bootstrap over pairs
    (``theory.fits.loglog_slope``). The interval is the Monte Carlo error of the prediction. The slope
    of log E[B] (the mean curve) is another estimand: for a skewed B its slope differs.

    Parameters
    ----------
    teacher : Teacher
    widths : array of int, shape (n,)
        the width of each pair
    floor : float
        pairs with a barrier at most this are left out (as zero barriers are for GD)
    n_boot : int
    seed : seed-like
    **model
        ``sample_minimum``'s allocation model (``allocation``, ``r``, ``split``, ``alpha``)
    """
    rng = as_generator(seed)
    widths = np.asarray(widths, dtype=int)
    values = np.array([sample_barriers(teacher, int(m), 1, rng, **model)[0].value for m in widths])
    keep = values > floor
    return loglog_slope(widths[keep], values[keep], n_boot=n_boot, seed=rng)


def predicted_curve(teacher: Teacher, widths, n_pairs: int = 200, seed: SeedLike = 0, zero_floor: float = 1e-14,
                    **model) -> PredictedCurve:
    """(mean, standard error, numerical fraction) of the barrier mod P over sampled minima, per width."""
    rng = as_generator(seed)
    means, sems, numerical, zero = [], [], [], []
    for m in widths:
        pairs = sample_barriers(teacher, int(m), n_pairs, rng, **model)
        b = np.array([p.value for p in pairs])
        means.append(b.mean())
        sems.append(b.std(ddof=1) / np.sqrt(b.size))
        numerical.append(np.mean([not p.closed_form for p in pairs]))
        zero.append(np.mean(b <= zero_floor))
    return PredictedCurve(np.array(means), np.array(sems), np.array(numerical), np.array(zero))
