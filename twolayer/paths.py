"""The linear path between two networks of one structure, as the barriers evaluate it.

    theta(t) = t theta_A + (1 - t) theta_B,  t in [0, 1]

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

from .objective import Objective
from .permutation import interpolate
from .repair import Repair, repaired_path
from .validation import check_array


def linear_path(A, B, objective: Objective, recompute_bn, repair: Repair) -> Callable[[float], object]:
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
