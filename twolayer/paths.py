"""The linear path between two networks of one structure, and the networks on it.

    theta(t) = t theta_A + (1 - t) theta_B,  t in [0, 1]

The arguments of a path are checked here, once per pair; the path is built from the plain mix
of parameters (``twolayer.permutation.mix``) and REPAIR (``twolayer.repair``), which take them
as checked. ``interpolate`` gives one network on the path (a merged model at t = 1/2);
``linear_path`` gives the path as the barriers evaluate it.

Networks with BatchNorm: by default every network on the path has its BatchNorm statistics
recomputed on data (the objective's inputs, or the inputs given as ``recompute_bn``) before
it is evaluated, the endpoints included, so that the whole curve is measured alike (the
remedy of Jordan et al. 2023 for the variance collapse of interpolated networks);
``recompute_bn=False`` evaluates the interpolated running statistics as they are. With
``repair``, every unit's statistics are reset instead (``twolayer.repair``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .network import Network
from .objective import Objective
from .permutation import check_compatible, mix, mixer
from .repair import Repair, check_repair, repaired_path
from .validation import check_array


def interpolate(A: Network, B: Network, t: float, repair: Repair | str = "none",
                objective: Objective | None = None) -> Network:
    """The network theta(t) = t theta_A + (1 - t) theta_B, parameter by parameter.

    Parameters
    ----------
    A, B : Student, MLP or TorchNetwork
        Networks of one structure (``check_compatible``).
    t : float in [0, 1]
        t = 1 gives A, t = 0 gives B.
    repair : {"none", "repair", "rescale"} or twolayer.repair.Repair
        Reset the units' statistics to the interpolation of A's and B's (``twolayer.repair``):
        a merged model at t = 1/2. Needs ``objective`` (its inputs, or its law for students).
    objective : Objective, optional

    Returns
    -------
    Student, MLP or TorchNetwork
    """
    check_compatible(A, B)
    if check_repair(repair) is Repair.NONE:
        return mix(A, B, t)
    if objective is None:
        raise ValueError("objective is needed to repair (its inputs, or its input law for students)")
    return repaired_path(A, B, objective, repair)(t)


def linear_path(A, B, objective: Objective, recompute_bn, repair: Repair) -> Callable[[float], object]:
    """t -> theta(t) for networks of one structure (checked by the barriers), repaired
    (``twolayer.repair``; on the rows of ``recompute_bn`` when it is an array) or with BatchNorm
    statistics recomputed where the network has BatchNorm."""
    if repair is not Repair.NONE:
        given = not isinstance(recompute_bn, (bool, np.bool_))
        return repaired_path(A, B, objective, repair, check_array("recompute_bn", recompute_bn, 2) if given else None)
    at = mixer(A, B)
    if recompute_bn is False or not A.has_batch_norm:
        return at
    if recompute_bn is True:
        X = objective.inputs(A.in_features)
    else:
        X = check_array("recompute_bn", recompute_bn, 2)
    return lambda t: at(t).with_batch_stats(X, copy=False)  # at(t) is a new network: no second copy
