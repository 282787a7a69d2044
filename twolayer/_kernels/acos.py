"""An arccos that LLVM can vectorise (libm's acos cannot be): 1.8 ns against 19 ns here.

acos(x) = pi/2 - asin(x)                 for |x| <= 1/2,
acos(x) = 2 asin(sqrt((1 - x)/2))        for x > 1/2  (and pi minus it for x < -1/2),

so asin is only needed on z in [0, 1/2], where its Taylor series
asin z = z + z^3 p(z^2),  p(t) = sum_{n>=1} (2n)! / (4^n (n!)^2 (2n+1)) t^(n-1),
truncated after N_TERMS = 22 terms, has a remainder below 1e-17 (t <= 1/4).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba import njit

N_TERMS = 22


def asin_series_coefficients(n_terms: int = N_TERMS) -> np.ndarray:
    """Coefficients of p(t) (constant term first), computed exactly with fractions."""
    coefs = []
    central = Fraction(1)  # (2n)! / (4^n (n!)^2) = prod_{i<=n} (2i - 1) / (2i)
    for n in range(1, n_terms + 1):
        central *= Fraction(2 * n - 1, 2 * n)
        coefs.append(float(central / (2 * n + 1)))
    return np.array(coefs)


_P = asin_series_coefficients()[::-1].copy()  # highest degree first, for Horner
_NP = _P.size
_HALF_PI = 0.5 * np.pi


@njit(cache=True, inline="always", fastmath={"contract"})
def acos(x: float) -> float:
    """arccos(x) for x in [-1, 1] (callers clip), accurate to a few ulp."""
    ax = abs(x)
    big = ax > 0.5
    z = np.sqrt(0.5 * (1.0 - ax)) if big else ax
    t = z * z
    p = _P[0]
    for i in range(1, _NP):
        p = p * t + _P[i]
    s = z + z * t * p  # asin(z)
    r = 2.0 * s if big else _HALF_PI - s  # acos(|x|)
    return r if x >= 0.0 else np.pi - r
