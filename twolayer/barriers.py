"""Loss barriers along linear paths, plain and modulo permutation, for any network.

Path       theta(t) = t theta_A + (1 - t) pi(theta_B),  t in [0, 1]

The barrier B of the objective's loss R along it (``twolayer.path_barrier``: sup, midpoint or
endpoints_mean; a grid refined by Brent's method), with BatchNorm statistics recomputed or
REPAIR applied along the path (``twolayer.paths``), after aligning B with A by any matching
method (``twolayer.matching``) or following an optimal-transport plan (``twolayer.transport``).

References
----------
J. Frankle, G. K. Dziugaite, D. Roy, M. Carbin. Linear mode connectivity and the lottery
ticket hypothesis. ICML 2020. arXiv:1912.05671 (the barrier).
"""

from __future__ import annotations

import numpy as np

from .interop import as_network
from .matching import match
from .objective import Objective, check_objective
from .path_barrier import BarrierKind, BarrierResult, along, path_barrier
from .paths import linear_path
from .permutation import check_compatible, permute
from .repair import Repair, check_repair
from .transport import ot_interpolate

__all__ = ["BarrierKind", "BarrierResult", "barrier", "barrier_modulo_permutation", "path_barrier"]


def _networks(A, B, objective: Objective, same_structure: bool = True) -> tuple:
    """(A, B) as networks the objective evaluates (PyTorch modules converted, ``as_network``), the
    objective and A checked, and, if ``same_structure``, B's structure checked against A's."""
    check_objective(objective)
    A, B = as_network(A, objective), as_network(B, objective)
    if same_structure:
        check_compatible(A, B)
    objective.check(A)
    return A, B


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
    A, B = _networks(A, B, objective)
    return along(linear_path(A, B, objective, recompute_bn, check_repair(repair)), objective, ts, kind)


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
    A, B = _networks(A, B, objective, same_structure=False)
    repair = check_repair(repair)
    matching = match(A, B, method, objective, **options)
    if matching.plan is None:
        path = linear_path(A, permute(B, matching.perms), objective, recompute_bn, repair)
    elif repair is Repair.NONE:
        path = lambda t: ot_interpolate(A, B, matching.plan, t)  # noqa: E731
    else:
        raise ValueError("repair applies to permutation paths; method 'ot' gives a transport plan (use repair='none')")
    res = along(path, objective, ts, kind)
    res.matching = matching
    return res
