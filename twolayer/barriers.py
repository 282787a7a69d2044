"""Loss barriers along linear paths, plain and modulo permutation, for any network.

Path       theta(t) = t theta_A + (1 - t) pi(theta_B),  t in [0, 1]
kinds      sup            B = max_t [R(theta(t)) - (t R(theta_A) + (1 - t) R(theta_B))]
           midpoint       B = R(theta(1/2)) - (R(theta_A) + R(theta_B)) / 2
           endpoints_mean B = max_t R(theta(t)) - (R(theta_A) + R(theta_B)) / 2
The maxima start on a grid (default 25 points); an interior grid maximum is refined by
Brent's method on the bracket of its two neighbours (a bounded search there if they tie),
so the reported maximum of a smooth curve is within 1e-6 relative of the true one. A
maximum at an endpoint is left as it is. R is the objective's loss; an objective with an
error rate (``Classification``) also gets the error barrier, the same gap of the error rate
on the grid (piecewise constant in t: no refinement), in [-1, 1].

Networks with BatchNorm: by default every network on the path has its BatchNorm statistics
recomputed on data (the objective's inputs, or the inputs given as ``recompute_bn``) before
it is evaluated, the endpoints included, so that the whole curve is measured alike (the
remedy of Jordan et al. 2023 for the variance collapse of interpolated networks);
``recompute_bn=False`` evaluates the interpolated running statistics as they are.

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

from .interop import as_network
from .matching import Matching, match
from .objective import Objective, check_objective
from .permutation import check_compatible, interpolate, permute
from .repair import Repair, check_repair, repaired_path
from .transport import ot_interpolate
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


def _grid(ts) -> np.ndarray:
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
    ts = _grid(ts)
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


def _along(path, objective: Objective, ts, kind) -> BarrierResult:
    """The loss barrier along ``path`` and, for objectives with an error rate, the error barrier:
    each grid point evaluated once for both."""
    ts = _grid(ts)
    losses, errors = zip(*(objective.scores(path(t)) for t in ts))
    res = path_barrier(path, objective.loss, ts, kind, curve=np.array(losses))
    if errors[0] is not None:
        res.error = _grid_barrier(res.ts, np.array(errors, dtype=float), res.kind)
    return res


def _linear_path(A, B, objective: Objective, recompute_bn, repair: Repair) -> Callable[[float], object]:
    """t -> theta(t), repaired (``twolayer.repair``; on the rows of ``recompute_bn`` when it is an
    array) or with BatchNorm statistics recomputed where the network has BatchNorm."""
    if repair is not Repair.NONE:
        given = not isinstance(recompute_bn, (bool, np.bool_))
        return repaired_path(A, B, objective, repair, check_array("recompute_bn", recompute_bn, 2) if given else None)
    if recompute_bn is False or not A.has_batch_norm:
        return lambda t: interpolate(A, B, t)
    if recompute_bn is True:
        X = objective.inputs(A.in_features)
    else:
        X = check_array("recompute_bn", recompute_bn, 2)
    return lambda t: interpolate(A, B, t).with_batch_stats(X)


def barrier(A, B, objective: Objective, ts=None, kind: BarrierKind | str = "sup",
            recompute_bn: bool | np.ndarray = True, repair: Repair | str = Repair.NONE) -> BarrierResult:
    """Barrier of ``objective`` along theta(t) = t theta_A + (1 - t) theta_B (no permutation).

    Parameters
    ----------
    A, B : Student, MLP, TorchNetwork or torch.nn.Module
        Networks of one structure (PyTorch modules: ``twolayer.from_torch``).
    objective : Objective
        ``Population(teacher)``, ``Empirical(X, y)`` or ``Classification(X, y)``.
    ts : array, optional
        The starting grid in [0, 1] (with both ends; default 25 points).
    kind : BarrierKind or {"sup", "midpoint", "endpoints_mean"}
    recompute_bn : bool or array of shape (n, features)
        For networks with BatchNorm: recompute its statistics at every t on the objective's
        inputs (True, default) or on the inputs given (typically the training data when the
        objective is a test set); False keeps the interpolated statistics. An array is also
        where ``repair`` measures its statistics: the path's statistics come from one place.
    repair : Repair or {"none", "repair", "rescale"}
        Reset every unit's pre-activation statistics along the path to the interpolation of the
        endpoints' (``twolayer.repair``; Jordan et al. 2023): on the inputs given as
        ``recompute_bn``, else on the objective's inputs, or exactly for students under a
        ``Population`` objective. Networks without BatchNorm.

    Returns
    -------
    BarrierResult

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 2)
    >>> A = tl.Student(T.b, T.V)
    >>> round(tl.barrier(A, tl.permute(A, [1, 0]), tl.Population(T)).value, 4)
    0.0908
    """
    check_objective(objective)
    repair = check_repair(repair)
    A, B = as_network(A, objective), as_network(B, objective)
    check_compatible(A, B)
    objective.check(A)
    return _along(_linear_path(A, B, objective, recompute_bn, repair), objective, ts, kind)


def barrier_modulo_permutation(A, B, objective: Objective, method: str = "weights", ts=None,
                               kind: BarrierKind | str = "sup", recompute_bn: bool | np.ndarray = True,
                               repair: Repair | str = Repair.NONE, **options) -> BarrierResult:
    """Barrier between A and B after aligning B with A: ``barrier(A, permute(B, pi), objective)``
    with pi = ``match(A, B, method, objective, **options)``; method ``ot`` follows the transport
    plan's interpolation (students of any widths, ``twolayer.transport``).

    Parameters
    ----------
    A, B : Student, MLP, TorchNetwork or torch.nn.Module
    objective : Objective
        The loss of the barrier; also what ``match`` uses (data, law, teacher).
    method : str
        A matching method (``twolayer.METHODS``).
    ts, kind, recompute_bn, repair
        As for ``barrier`` (``repair`` along the aligned path; not with the ``ot`` plan).
    **options
        The matching method's options.

    Returns
    -------
    BarrierResult
        With ``matching`` (the permutations, or the transport plan) and, for classification
        objectives, ``error``.

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 2)
    >>> A = tl.Student(T.b, T.V)
    >>> tl.barrier_modulo_permutation(A, tl.permute(A, [1, 0]), tl.Population(T)).value
    0.0
    """
    check_objective(objective)
    repair = check_repair(repair)
    A, B = as_network(A, objective), as_network(B, objective)
    matching = match(A, B, method, objective, **options)
    if matching.plan is not None:
        if repair is not Repair.NONE:
            raise ValueError("repair applies to permutation paths; method 'ot' gives a transport plan "
                             "(use repair='none')")
        objective.check(A)
        res = _along(lambda t: ot_interpolate(A, B, matching.plan, t), objective, ts, kind)
    else:
        res = barrier(A, permute(B, matching.perms), objective, ts, kind, recompute_bn, repair)
    res.matching = matching
    return res
