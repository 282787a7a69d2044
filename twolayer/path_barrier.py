"""The barrier of a loss along any path t -> network, on a grid refined by Brent's method.

kinds      sup            B = max_t [R(theta(t)) - (t R(theta_A) + (1 - t) R(theta_B))]
           midpoint       B = R(theta(1/2)) - (R(theta_A) + R(theta_B)) / 2
           endpoints_mean B = max_t R(theta(t)) - (R(theta_A) + R(theta_B)) / 2

with theta(1) = A and theta(0) = B. The maxima start on a grid (default 25 points); an interior
grid maximum is refined by Brent's method on the bracket of its two neighbours (a bounded search
there if they tie), so the reported maximum of a smooth curve is within 1e-6 relative of the true
one. A maximum at an endpoint is left as it is. An objective with an error rate
(``Classification``) also gets the error barrier, the same gap of the error rate on the grid
(piecewise constant in t: no refinement), in [-1, 1].

References
----------
J. Frankle, G. K. Dziugaite, D. Roy, M. Carbin. Linear mode connectivity and the lottery
ticket hypothesis. ICML 2020. arXiv:1912.05671 (the barrier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .matching import Matching
from .objective import Objective
from .validation import check_array, check_enum

DEFAULT_GRID = 25
#: Brent's relative tolerance on t*: the value error is ~ |B''| (T_TOLERANCE t*)^2 / 2, below
#: 1e-7 relative for curves whose curvature is at most 20 times their height
T_TOLERANCE = 1e-4


class BarrierKind(Enum):
    """Which gap along the path is reported (module docstring)."""

    SUP = "sup"
    MIDPOINT = "midpoint"
    ENDPOINTS_MEAN = "endpoints_mean"

    def baseline(self, ts, loss_A: float, loss_B: float):
        """What R(theta(t)) is compared with at each t."""
        if self is BarrierKind.ENDPOINTS_MEAN:
            return np.full_like(np.asarray(ts, dtype=float), 0.5 * (loss_A + loss_B))
        return np.asarray(ts) * loss_A + (1 - np.asarray(ts)) * loss_B


@dataclass
class BarrierResult:
    """A barrier.

    Attributes
    ----------
    value : float
        The barrier B.
    t : float
        Where it is attained.
    ts, curve : arrays of shape (g,)
        The grid and R(theta(ts)).
    loss_A, loss_B : float
        R at the endpoints.
    kind : BarrierKind
    matching : Matching or None
        The alignment used (``barrier_modulo_permutation``).
    error : BarrierResult or None
        The error-rate barrier, for objectives with an error rate.
    """

    value: float
    t: float
    ts: np.ndarray
    curve: np.ndarray
    loss_A: float
    loss_B: float
    kind: BarrierKind
    matching: Matching | None = None
    error: BarrierResult | None = None


def grid(ts) -> np.ndarray:
    """The starting grid of a barrier: ``ts`` sorted (DEFAULT_GRID points evenly spaced when None),
    which must lie in [0, 1] and include both ends; a ValueError naming ``ts`` otherwise.

    Examples
    --------
    >>> grid([1.0, 0.0, 0.5]).tolist()
    [0.0, 0.5, 1.0]
    """
    ts = np.linspace(0.0, 1.0, DEFAULT_GRID) if ts is None else np.sort(check_array("ts", ts, 1))
    if ts[0] != 0.0 or ts[-1] != 1.0 or np.any(ts < 0) or np.any(ts > 1):
        raise ValueError("ts must lie in [0, 1] and include both 0 and 1")
    return ts


def path_barrier(path: Callable[[float], object], loss: Callable[[object], float], ts=None,
                 kind: BarrierKind | str = BarrierKind.SUP, curve: np.ndarray | None = None) -> BarrierResult:
    """Barrier of ``loss`` along any path t -> network with path(1) = A and path(0) = B.

    Parameters
    ----------
    path : callable t -> network
    loss : callable network -> float
    ts : array, optional
        Starting grid (default 25 points in [0, 1], both ends included).
    kind : BarrierKind or str
    curve : array, optional
        loss(path(t)) on the grid, when the caller has it already.

    Returns
    -------
    BarrierResult
    """
    from scipy.optimize import minimize_scalar  # scipy.optimize: 0.4 s to import, only when used

    kind = check_enum("kind", kind, BarrierKind)
    ts = grid(ts)
    curve = np.array([loss(path(t)) for t in ts]) if curve is None else np.asarray(curve, dtype=float)
    loss_B, loss_A = curve[0], curve[-1]

    def gap(t):
        return loss(path(t)) - kind.baseline(t, loss_A, loss_B)

    if kind is BarrierKind.MIDPOINT:
        return BarrierResult(float(gap(0.5)), 0.5, ts, curve, loss_A, loss_B, kind)
    gaps = curve - kind.baseline(ts, loss_A, loss_B)
    j = int(np.argmax(gaps))
    value, t_best = float(gaps[j]), float(ts[j])
    if 0 < j < ts.size - 1:  # an interior grid maximum brackets the true one
        bracket = (ts[j - 1], ts[j], ts[j + 1])
        if gaps[j - 1] < gaps[j] > gaps[j + 1]:  # strict: Brent's method on the bracket
            res = minimize_scalar(lambda t: -gap(t), bracket=bracket, method="brent", tol=T_TOLERANCE)
        else:  # a plateau: bounded search between the neighbours
            res = minimize_scalar(lambda t: -gap(t), bounds=(bracket[0], bracket[2]), method="bounded",
                                  options={"xatol": T_TOLERANCE * bracket[1]})
        if -res.fun > value and 0.0 <= res.x <= 1.0:
            value, t_best = float(-res.fun), float(res.x)
    return BarrierResult(value, t_best, ts, curve, loss_A, loss_B, kind)


def _grid_barrier(ts: np.ndarray, values: np.ndarray, kind: BarrierKind) -> BarrierResult:
    """The barrier of values known only on the grid (no refinement between grid points)."""
    gaps = values - kind.baseline(ts, values[-1], values[0])
    j = int(np.argmin(np.abs(ts - 0.5))) if kind is BarrierKind.MIDPOINT else int(np.argmax(gaps))
    return BarrierResult(float(gaps[j]), float(ts[j]), ts, values, float(values[-1]), float(values[0]), kind)


def along(path, objective: Objective, ts, kind) -> BarrierResult:
    """The loss barrier along ``path`` and, for objectives with an error rate, the error barrier:
    each grid point evaluated once for both."""
    ts = grid(ts)
    losses, errors = zip(*(objective.scores(path(t)) for t in ts))
    res = path_barrier(path, objective.loss, ts, kind, curve=np.array(losses))
    if errors[0] is not None:
        res.error = _grid_barrier(res.ts, np.array(errors, dtype=float), res.kind)
    return res
