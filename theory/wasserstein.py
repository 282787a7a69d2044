"""Transport bounds on the barrier and Wasserstein rates (docs/theory.md, sec. 5).

(a) For two students of one width aligned by pi, with alpha = t a + (1 - t) a',
u = t w + (1 - t) w', each neuron's part of f_t - (t f_A + (1 - t) f_B) is

    alpha sigma(u.x) - t a sigma(w.x) - (1 - t) a' sigma(w'.x)
        = t a [sigma(u.x) - sigma(w.x)] + (1 - t) a' [sigma(u.x) - sigma(w'.x)],

and sigma is 1-Lipschitz with u - w = (1 - t)(w' - w), so its L2 norm is at most
t (1 - t) (|a| + |a'|) |w - w'| s, s = (E (e.x)^2)^(1/2) = 1 (Gaussian) or d^(-1/2) (sphere).
Summing, E_t = ||f_t - (t f_A + (1 - t) f_B)|| <= t (1 - t) T with the transport cost

    T = c sum_i (|a_i| + |a'_pi(i)|) |w_i - w'_pi(i)| s.

With L_t = t R_A + (1 - t) R_B and convexity of the square, ||t f_A + (1-t) f_B - f*|| <=
(2 L_t)^(1/2), hence for every t

    R(theta_t) - L_t <= (2 L_t)^(1/2) t (1 - t) T + t^2 (1 - t)^2 T^2 / 2,

and the barrier is at most the maximum of the right side over t (<= (2 max R)^(1/2) T/4 + T^2/32).

(b) E W_p(mu_m, mu) for m samples of a measure of dimension d_eff (Fournier & Guillin 2015,
Weed & Bach 2019): m^(-1/2) if d_eff < 2p, m^(-1/2) log m if d_eff = 2p, m^(-1/d_eff) if
d_eff > 2p.

(c) At minima the bound is T^2/32 <= eps for T <= (32 eps)^(1/2). For the best permutation,
T = (1/m) sum_i (|m c a_i| + |m c a'_i|) |w_i - w'_i| <= A W_1 with A = 2 max |m c a| and W_1
between the two empirical measures of input weights; through the common law mu,
W_1(mu_m, mu'_m) <= 2 C m^(-beta) + D (2 log(2/delta) / m)^(1/2) with probability 1 - delta
(McDiarmid for each of the two terms, bounded differences D/m, D the diameter of the
support), so the width m_eps below suffices.
"""

from __future__ import annotations

import numpy as np

from twolayer import InputLaw, Student, input_law
from twolayer.permutation import check_compatible, check_perm


def transport_cost(A: Student, B: Student, perm, inputs: InputLaw | str = "gaussian") -> float:
    """T = c sum_i (|a_i| + |a'_pi(i)|) |w_i - w'_pi(i)| s (item a), s = (E|x|^2 / d)^(1/2) the
    input law's scale (1 Gaussian, d^(-1/2) sphere)."""
    check_compatible(A, B)
    p = check_perm(perm, A.m)
    s = np.sqrt(input_law(inputs).moment_scale(A.d))
    return float(A.c * s * np.sum((np.abs(A.a) + np.abs(B.a[p])) * np.linalg.norm(A.W - B.W[p], axis=1)))


def barrier_bound(T: float, loss_A: float, loss_B: float, grid: int = 2001) -> float:
    """max_t [(2 L_t)^(1/2) t(1-t) T + (t(1-t) T)^2 / 2], L_t = t R_A + (1-t) R_B (item a)."""
    t = np.linspace(0.0, 1.0, grid)
    L = t * loss_A + (1 - t) * loss_B
    e = t * (1 - t) * T
    return float(np.max(np.sqrt(2 * L) * e + 0.5 * e * e))


def wasserstein_rate_exponent(d_eff: float, p: float = 2.0) -> float:
    """The exponent beta of E W_p(mu_m, mu) ~ m^(-beta) (log factor at d_eff = 2p ignored)."""
    return 0.5 if d_eff <= 2 * p else 1.0 / d_eff


def width_for_barrier(eps: float, delta: float, d_eff: float, A: float = 1.0, C: float = 1.0,
                      diameter: float = 1.0) -> float:
    """Smallest m with A (2 C m^(-beta) + diameter (2 log(2/delta)/m)^(1/2)) <= (32 eps)^(1/2),
    beta = wasserstein_rate_exponent(d_eff, 1) (item c)."""
    from scipy.optimize import brentq  # 0.4 s to import: only when used

    beta = wasserstein_rate_exponent(d_eff, 1.0)
    target = np.sqrt(32 * eps)

    def excess(log_m):
        m = np.exp(log_m)
        return A * (2 * C * m ** -beta + diameter * np.sqrt(2 * np.log(2 / delta) / m)) - target

    if excess(0.0) <= 0:
        return 1.0
    return float(np.exp(brentq(excess, 0.0, 700.0)))
