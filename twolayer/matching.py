"""Matching: the permutations (or transport plan) that align network B with network A.

Every method is registered once in ``METHODS`` with the networks it applies to and its
options (with defaults); ``match`` refuses an option the chosen method does not take.

============ ============== ================================================================
method       networks       what it solves
============ ============== ================================================================
weights      Student, MLP,  max_pi sum_{(p, axis) in spec} <theta^A_p, pi(theta^B)_p>, i.e.
             TorchNetwork   min_pi |theta_A - pi(theta_B)|^2 (BatchNorm running statistics
                            permuted, not compared): one exact linear assignment for
                            one hidden layer; Git Re-Basin's coordinate descent over the
                            layers (random order per sweep, until a sweep changes nothing)
weights_cov  Student, MLP   the same with each layer's incoming weights compared in the inner
                            product of that layer's input second moment, w^T Sigma w'
                            (Sigma from the objective: its law, or A's activations on its data)
activations  Student, MLP,  per hidden layer, max_pi sum_i corr(h^A_i, h^B_pi(i)) over the
             TorchNetwork   objective's inputs (its data; with no data, n draws from its law,
                            n = 10 000 unless given); a channel's outputs at every position
refine       Student        from ``weights``, swaps pi(i) <-> pi(j) while the exact midpoint
                            population loss falls (``twolayer.refine``; Population objective)
ot           Student        the optimal transport plan between the neuron measures; widths
                            may differ (``twolayer.transport``)
sinkhorn     Student, MLP,  weights matching with each exact assignment replaced by the
             TorchNetwork   entropic (soft) assignment of log-domain Sinkhorn at regularisation
                            ``reg`` (relative to the score's range), rounded to the permutation
                            of largest mass; reg -> 0 gives weights (``twolayer.sinkhorn``)
ste          Student, MLP,  Git Re-Basin's straight-through estimator: a free copy of B's
             TorchNetwork   weights, projected on B's permutations by weights matching, moved
                            by Adam along the gradient of the midpoint loss; keeps the best
                            permutation seen, from weights' (``twolayer.ste``; needs an objective)
============ ============== ================================================================

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin: merging models modulo permutation
symmetries. ICLR 2023. arXiv:2209.04836 (weight and activation matching, the straight-through
estimator).
F. A. G. Peña et al. Re-basin via implicit Sinkhorn differentiation. CVPR 2023. arXiv:2212.12042.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._blas import single_threaded_blas
from ._resources import check_memory
from .assignment import assignment, distance_assignment
from .interop import as_network
from .network import NetworkKind, network_kind
from .objective import Objective, Population, check_objective
from .permutation import PermutationSpec, check_compatible, permute, permute_arrays
from .random import as_generator
from .refine import refine
from .transport import transport_plan
from .validation import check_positive_int


@dataclass
class Matching:
    """A matching of B onto A.

    Attributes
    ----------
    method : str
    perms : dict name -> array, or None
        One permutation per name of the network's permutation specification.
    plan : array of shape (m_A, m_B), or None
        The transport plan (method ``ot``).
    info : dict
        Every method: ``objective``, the value its objective reached (weights, weights_cov:
        sum_p <theta^A_p, pi(theta^B)_p>; activations: the summed correlation of matched units;
        refine, ste: the midpoint loss; sinkhorn: the weight-matching objective of the permutation
        it rounds to; ot: the plan's cost), and ``sweeps``, the passes made over the permutations
        (coordinate descent, local search or optimiser steps; 1 for a one-shot exact solver).
        Besides, method-specific numbers: the weight distance |theta_A - pi(theta_B)|^2 (``cost``),
        the mean correlation, refine's midpoint losses and swaps, the plan's cost.
    """

    method: str
    perms: dict[str, np.ndarray] | None = None
    plan: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def perm(self) -> np.ndarray:
        """The permutation of a network with one hidden layer."""
        if self.perms is None:
            raise ValueError("an 'ot' matching has a plan, not a permutation")
        if len(self.perms) != 1:
            raise ValueError(f"this matching has {len(self.perms)} permutations; use .perms")
        return next(iter(self.perms.values()))


@dataclass(frozen=True)
class MatchingMethod:
    """One registered method: the kinds of network it takes, its options and its solver
    ``solve(A, B, objective, **options) -> Matching``."""

    name: str
    networks: tuple[NetworkKind, ...]
    options: Mapping[str, Any]
    solve: Callable[..., Matching]


def _moved(arr: np.ndarray, axis: int) -> np.ndarray:
    """``arr`` with ``axis`` first, flattened to (n, rest)."""
    return np.moveaxis(arr, axis, 0).reshape(arr.shape[axis], -1)


def weight_matching(spec: PermutationSpec, arrays_A: Mapping[str, np.ndarray],
                    arrays_B: Mapping[str, np.ndarray], metrics: Mapping[str, np.ndarray] | None = None,
                    max_sweeps: int = 100, seed=0, start: Mapping[str, np.ndarray] | None = None,
                    solve: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Permutations pi maximising sum_{(p, axis)} <theta^A_p, pi(theta^B)_p> along each axis.

    ``metrics[p]`` (optional) is the second moment Sigma of weight matrix p's input: where a
    permutation reorders the rows of p (axis 0, the incoming weights of its units) they are
    compared in w^T Sigma w'; along axis 1 p is compared plainly. One permutation: one exact linear
    assignment. Several: Git Re-Basin's coordinate descent, each permutation solved exactly
    with the others fixed, in a random order per sweep, until a sweep changes nothing, from the
    identity or from the permutations ``start``. ``solve(score) -> perm`` replaces the exact
    assignment of each step (``twolayer.sinkhorn``).

    Returns the permutations and {"objective": sum_p <theta^A_p, pi(theta^B)_p> over the scored
    parameters (plain inner products), "sweeps": the sweeps made}. Every product runs with BLAS
    held to one thread (``single_threaded_blas``): a multi-threaded BLAS on these small products
    under a busy machine was measured 20x slower.
    """
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    with single_threaded_blas():
        perms, sweeps = _coordinate_descent(spec, arrays_A, arrays_B, metrics or {}, max_sweeps, seed, start, solve)
        B = permute_arrays(spec, perms, arrays_B)
        objective = sum(float(np.vdot(arrays_A[p], B[p])) for p in arrays_A if p not in spec.unscored)
    return perms, {"objective": objective, "sweeps": sweeps}


def _coordinate_descent(spec, arrays_A, arrays_B, metrics, max_sweeps, seed, start, solve
                        ) -> tuple[dict[str, np.ndarray], int]:
    # a metric weighs the rows of a weight matrix (its axis 0: incoming weights) only; the same
    # matrix read along axis 1 (outgoing weights of the layer below) is compared plainly
    weighted = {p: arrays_A[p] @ metrics[p] for p in metrics}
    names = spec.names
    perms = {name: np.arange(spec.size(arrays_A, name)) if start is None else np.asarray(start[name])
             for name in names}
    scored = {name: [(p, ax) for p, ax in spec.axes[name] if p not in spec.unscored] for name in names}
    exact = solve is None
    if len(names) == 1 and not metrics and exact and spec.groups(names[0]) == 1:  # nearest-neighbour shortcut
        (name,) = names
        rows = lambda arrays: np.hstack([_moved(arrays[p], ax) for p, ax in scored[name]])  # noqa: E731
        return {name: distance_assignment(rows(arrays_A), rows(arrays_B))}, 1
    rng = as_generator(seed)
    sweeps = 0
    for _ in range(max_sweeps):
        sweeps += 1
        changed = False
        for name in (names[i] for i in rng.permutation(len(names))):
            others = {q: perms[q] for q in names if q != name}
            B = permute_arrays(PermutationSpec({q: spec.axes[q] for q in others}), others, arrays_B)
            score = sum(_moved(weighted[p] if ax == 0 and p in weighted else arrays_A[p], ax) @ _moved(B[p], ax).T
                        for p, ax in scored[name])
            new = assignment(-score, spec.groups(name)) if exact else solve(score)
            if not np.array_equal(new, perms[name]):
                perms[name], changed = new, True
        if not changed or (len(names) == 1 and exact):  # one permutation: its one assignment is exact
            break
    return perms, sweeps


def _distance(A, B, perms) -> float:
    """|theta_A - pi(theta_B)|^2 over every parameter (not the spec's unscored arrays)."""
    pa, pb = A.arrays(), permute(B, perms).arrays()
    unscored = A.permutation_spec().unscored
    return float(sum(((pa[k] - pb[k]) ** 2).sum() for k in pa if k not in unscored))


def _weights(A, B, objective, max_sweeps, seed, metrics=None, method="weights"):
    perms, info = weight_matching(A.permutation_spec(), A.arrays(), B.arrays(), metrics, max_sweeps, seed)
    return Matching(method, perms=perms, info={"cost": _distance(A, B, perms), **info})


def _weights_cov(A, B, objective, max_sweeps, seed):
    if objective is None:
        raise ValueError("method='weights_cov' needs an objective (its input law or data give Sigma)")
    return _weights(A, B, objective, max_sweeps, seed, A.second_moments(objective), "weights_cov")


def activation_correlation(HA: np.ndarray, HB: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of HA with every column of HB, shape (m_A, m_B)
    (a constant column correlates 0 with everything)."""
    HA = HA - HA.mean(0)
    HB = HB - HB.mean(0)
    sa, sb = np.linalg.norm(HA, axis=0), np.linalg.norm(HB, axis=0)
    sa[sa == 0] = np.inf
    sb[sb == 0] = np.inf
    return (HA.T @ HB) / np.outer(sa, sb)


#: inputs drawn from the law for activation matching when the objective has no data
ACTIVATION_INPUTS = 10_000


def _activations(A, B, objective, n, seed):
    if objective is None:
        raise ValueError("method='activations' needs an objective (its data, or its input law to draw n inputs)")
    if objective.data is not None and n is not None:
        raise ValueError("option 'n' does not apply: the objective has data, and activations are taken on it")
    if objective.data is None:
        n = check_positive_int("n", ACTIVATION_INPUTS if n is None else n)
    X = objective.inputs(A.in_features, n, seed)
    HA, HB = A.hidden(X), B.hidden(X)
    perms, corr = {}, []
    with single_threaded_blas():
        for name in A.permutation_spec().names:
            C = activation_correlation(HA[name], HB[name])
            perms[name] = assignment(-C, A.permutation_spec().groups(name))
            corr.append(C[np.arange(C.shape[0]), perms[name]])
    info = {"correlation": float(np.mean([c.mean() for c in corr])),
            "objective": float(sum(c.sum() for c in corr)), "sweeps": 1}
    return Matching("activations", perms=perms, info=info)


def _refine(A, B, objective, max_sweeps, candidates):
    if not isinstance(objective, Population):
        raise ValueError("method='refine' needs a Population objective (it lowers the exact population loss)")
    start = weight_matching(A.permutation_spec(), A.arrays(), B.arrays())[0]["P"]
    perm, info = refine(A, B, objective.teacher, start, max_sweeps, candidates)
    return Matching("refine", perms={"P": perm}, info={**info, "objective": info["midpoint_loss"]})


def _sinkhorn(A, B, objective, reg, max_iter, max_sweeps, seed):
    from .sinkhorn import sinkhorn_solver

    spec = A.permutation_spec()
    grouped = [name for name in spec.names if spec.groups(name) > 1]
    if grouped:
        raise ValueError(f"method='sinkhorn' cannot keep GroupNorm's within-group constraint (permutation "
                         f"{grouped[0]!r}); use method='weights' or 'activations'")
    solve = sinkhorn_solver(reg, max_iter)
    perms, info = weight_matching(A.permutation_spec(), A.arrays(), B.arrays(), None, max_sweeps, seed, solve=solve)
    return Matching("sinkhorn", perms=perms, info={"cost": _distance(A, B, perms), **info})


def _ste(A, B, objective, steps, lr, seed):
    from .ste import straight_through

    perms, info = straight_through(A, B, objective, steps, lr, seed)
    return Matching("ste", perms=perms, info=info)


def _ot(A, B, objective):
    plan, info = transport_plan(A, B)
    return Matching("ot", plan=plan, info={**info, "objective": info["cost"], "sweeps": 1})


_ALL = tuple(NetworkKind)
_STUDENT = (NetworkKind.STUDENT,)

#: every matching method, with the kinds of network it takes and its options (defaults)
METHODS: dict[str, MatchingMethod] = {m.name: m for m in (
    MatchingMethod("weights", _ALL, {"max_sweeps": 100, "seed": 0}, _weights),
    MatchingMethod("weights_cov", (NetworkKind.STUDENT, NetworkKind.MLP), {"max_sweeps": 100, "seed": 0}, _weights_cov),
    MatchingMethod("activations", _ALL, {"n": None, "seed": 0}, _activations),
    MatchingMethod("refine", _STUDENT, {"max_sweeps": 20, "candidates": 16}, _refine),
    MatchingMethod("ot", _STUDENT, {}, _ot),
    MatchingMethod("sinkhorn", _ALL, {"reg": 0.01, "max_iter": 1000, "max_sweeps": 100, "seed": 0}, _sinkhorn),
    MatchingMethod("ste", _ALL, {"steps": 100, "lr": 0.01, "seed": 0}, _ste),
)}


def matching_method(method: str) -> MatchingMethod:
    """The registered method of that name; anything else is a ``ValueError`` listing them."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    return METHODS[method]


def match(A, B, method: str = "weights", objective: Objective | None = None, *,
          input_shape: tuple[int, ...] | None = None, **options) -> Matching:
    """Align network B with network A.

    Parameters
    ----------
    A, B : Student, MLP, TorchNetwork or torch.nn.Module
        Networks of one kind and structure (``ot``: students of any widths); PyTorch modules
        are brought in with ``twolayer.from_torch``.
    method : str
        A key of ``METHODS`` (module docstring).
    objective : Objective, optional
        The task: ``weights_cov`` takes its second moments from it, ``activations`` its
        inputs, ``refine`` its teacher. ``weights`` and ``ot`` do not need it.
    input_shape : tuple of int, optional
        One example's shape, for PyTorch modules that are not plain MLPs (convolutional
        networks) matched without a ``Classification`` objective to take it from.
    **options
        The method's options (``METHODS[method].options``); any other keyword is an error.

    Returns
    -------
    Matching
        ``permute(B, matching.perms)`` is B aligned with A (``ot``: ``matching.plan``).

    Examples
    --------
    >>> import twolayer as tl
    >>> A = tl.Student.init(4, 3, seed=0)
    >>> B = tl.permute(A, [3, 1, 0, 2])
    >>> tl.match(A, B).perm.tolist()
    [2, 1, 3, 0]
    """
    spec = matching_method(method)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        takes = ", ".join(spec.options) or "no options"
        raise ValueError(f"option {unknown[0]!r} does not apply to method {method!r} (it takes: {takes})")
    if objective is not None:
        check_objective(objective)
    A, B = as_network(A, objective, input_shape), as_network(B, objective, input_shape)
    for label, net in (("A", A), ("B", B)):
        if network_kind(net) not in spec.networks:
            allowed = " or ".join(kind.value for kind in spec.networks)
            raise ValueError(f"method {method!r} aligns a {allowed}; {label} is a {type(net).__name__}")
    if method == "ot":
        if A.d != B.d:
            raise ValueError(f"A.d ({A.d}) must equal B.d ({B.d})")
    else:
        check_compatible(A, B)
    if objective is not None:
        objective.check(A)
    _check_match_memory(A, B)
    return spec.solve(A, B, objective, **{**spec.options, **options})


def _check_match_memory(A, B) -> None:
    """Refuse, before allocating, a cost matrix of the widest permutation (m_A x m_B floats, with the
    assignment's work arrays) that does not fit in memory."""
    spec, arrays_A, arrays_B = A.permutation_spec(), A.arrays(), B.arrays()
    m_A, m_B = max(((spec.size(arrays_A, name), spec.size(arrays_B, name)) for name in spec.names),
                   default=(0, 0))
    check_memory(f"match at m={m_A} (a {m_A} x {m_B} cost matrix and the assignment's work arrays)", 3 * 8 * m_A * m_B)

