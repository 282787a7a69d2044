"""Loss barriers along linear paths, plain and modulo permutation.

Path       theta(t) = t theta_A + (1 - t) pi(theta_B),  t in [0, 1]
kinds      sup            B = max_t [R(theta(t)) - (t R(theta_A) + (1 - t) R(theta_B))]
           midpoint       B = R(theta(1/2)) - (R(theta_A) + R(theta_B)) / 2
           endpoints_mean B = max_t R(theta(t)) - (R(theta_A) + R(theta_B)) / 2
The maxima start on a grid (default 25 points); an interior grid maximum is refined by
Brent's method on the bracket of its two neighbours (a bounded search there if they tie),
so the reported maximum of a smooth curve is within 1e-6 relative of the true one. A
maximum at an endpoint is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ._validate import check_array, check_choice
from .losses import check_data, empirical_loss, population_loss
from .matching import match, ot_interpolate
from .model import Student, Teacher, check_pair
from .paths import check_same_shape, interpolate, permute

KINDS = ("sup", "midpoint", "endpoints_mean")
LOSSES = ("population", "empirical")
DEFAULT_GRID = 25
#: Brent's relative tolerance on t*: the value error is ~ |B''| (T_TOLERANCE t*)^2 / 2, below
#: 1e-7 relative for curves whose curvature is at most 20 times their height
T_TOLERANCE = 1e-4


@dataclass
class BarrierResult:
    """``value`` at ``t`` (argmax); ``curve`` = R(theta(ts)); ``perm``/``plan`` when aligned."""

    value: float
    t: float
    ts: np.ndarray
    curve: np.ndarray
    loss_A: float
    loss_B: float
    kind: str
    loss: str
    method: str | None = None
    perm: np.ndarray | None = None
    plan: np.ndarray | None = None


def _loss_function(teacher, loss, data) -> Callable[[Student], float]:
    check_choice("loss", loss, LOSSES)
    if loss == "population":
        if teacher is None:
            raise ValueError("the population barrier needs the teacher")
        return lambda s: population_loss(s, teacher)
    if data is None:
        raise ValueError("loss='empirical' needs data=(X, y)")
    X, y = data
    X = check_array("X", X, 2)
    X, y = check_data(X, y, X.shape[1])
    return lambda s: empirical_loss(s, X, y)


def path_barrier(path: Callable[[float], Student], objective: Callable[[Student], float],
                 ts=None, kind: str = "sup") -> BarrierResult:
    """Barrier of ``objective`` along any path t -> Student with path(1) = A, path(0) = B."""
    check_choice("kind", kind, KINDS)
    ts = np.linspace(0.0, 1.0, DEFAULT_GRID) if ts is None else np.sort(
        check_array("ts", ts, 1))
    if ts[0] != 0.0 or ts[-1] != 1.0 or np.any(ts < 0) or np.any(ts > 1):
        raise ValueError("ts must lie in [0, 1] and include both 0 and 1")
    curve = np.array([objective(path(t)) for t in ts])
    loss_B, loss_A = curve[0], curve[-1]

    def gap(t):
        base = 0.5 * (loss_A + loss_B) if kind == "endpoints_mean" else t * loss_A + (1 - t) * loss_B
        return objective(path(t)) - base

    if kind == "midpoint":
        return BarrierResult(float(gap(0.5)), 0.5, ts, curve, loss_A, loss_B, kind, "")
    base = (np.full_like(ts, 0.5 * (loss_A + loss_B)) if kind == "endpoints_mean"
            else ts * loss_A + (1 - ts) * loss_B)
    gaps = curve - base
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
    return BarrierResult(value, t_best, ts, curve, loss_A, loss_B, kind, "")


def barrier(A: Student, B: Student, teacher: Teacher | None = None, ts=None,
            loss: str = "population", data=None, kind: str = "sup") -> BarrierResult:
    """Barrier along theta(t) = t theta_A + (1 - t) theta_B (no permutation)."""
    check_same_shape(A, B)
    if teacher is not None:
        check_pair(A, teacher)
    objective = _loss_function(teacher, loss, data)
    res = path_barrier(lambda t: interpolate(A, B, t), objective, ts, kind)
    res.loss = loss
    return res


def barrier_modulo_permutation(A: Student, B: Student, teacher: Teacher | None = None,
                               method: str = "weights", ts=None, loss: str = "population",
                               data=None, kind: str = "sup", **match_kwargs) -> BarrierResult:
    """Barrier between A and B aligned by ``match(A, B, method)``; ``method='ot'`` follows
    the transport plan's interpolation (widths may differ)."""
    matching = match(A, B, method, teacher=teacher, **match_kwargs)
    if method == "ot":
        if teacher is not None:
            check_pair(A, teacher)
        objective = _loss_function(teacher, loss, data)
        res = path_barrier(lambda t: ot_interpolate(A, B, matching.plan, t), objective, ts, kind)
        res.plan = matching.plan
    else:
        res = barrier(A, permute(B, matching.perm), teacher, ts, loss, data, kind)
        res.perm = matching.perm
    res.loss, res.method = loss, method
    return res
