"""MergeMany: N networks aligned to a common reference and averaged, against their ensemble.

Git Re-Basin's MergeMany (Ainsworth et al. 2023, Algorithm 3): with pi_j the permutation of
network j, repeat over j in a random order

    pi_j <- argmax_pi  sum_p < mean_{k != j} pi_k(theta_k)_p , pi(theta_j)_p >    (weight matching)

until a sweep changes no permutation; the merged network is mean_j pi_j(theta_j). Here the
permutations start from each network aligned with the first (so that the alternation starts
near a common reference); each update runs weight matching from the current pi_j and from the
identity and keeps the better, and only if it raises the objective (so the alternation cannot
undo an exact alignment). ``merge_scores`` compares the merged network's loss and error with
the mean over the N networks and with their ensemble, the network whose output is the mean of
the N outputs (for students under a ``Population`` objective: exactly, as one student of width
N m).

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin: merging models modulo permutation
symmetries. ICLR 2023. arXiv:2209.04836 (MergeMany).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .interop import as_network
from .matching import weight_matching
from .model import Student
from .objective import Objective, check_objective
from .permutation import check_compatible, permute
from .random import SeedLike, as_generator
from .validation import check_positive_int


@dataclass
class MergeResult:
    """N networks merged.

    Attributes
    ----------
    merged : network
        mean_j pi_j(theta_j) (BatchNorm statistics recomputed on the objective's inputs when given).
    perms : list of N dicts name -> array
        pi_j, one permutation per name of the networks' specification.
    sweeps : int
        Passes of the alternation made.
    scores : dict or None
        With an objective: ``merged``, ``members`` (mean over the N) and ``ensemble``, each a
        (loss, error or None) pair.
    """

    merged: object
    perms: list[dict[str, np.ndarray]]
    sweeps: int
    scores: dict | None = field(default=None)


def _inner(spec, A: dict[str, np.ndarray], B: dict[str, np.ndarray]) -> float:
    """sum_p <A_p, B_p> over the parameters weight matching scores."""
    return sum(float(np.vdot(A[p], B[p])) for p in A if p not in spec.unscored)


def _mean_arrays(arrays: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.mean([a[k] for a in arrays], axis=0) for k in arrays[0]}


def merge_many(nets: Sequence, objective: Objective | None = None, max_sweeps: int = 100,
               seed: SeedLike = 0) -> MergeResult:
    """Align N networks to a common reference by MergeMany and average them.

    .. math::

        \\pi_j \\leftarrow \\arg\\max_\\pi \\sum_p \\langle \\tfrac{1}{N-1}\\textstyle\\sum_{k \\ne j}
        \\pi_k(\\theta_k)_p, \\pi(\\theta_j)_p \\rangle, \\qquad
        \\theta_{\\rm merged} = \\tfrac{1}{N} \\textstyle\\sum_j \\pi_j(\\theta_j)

    Parameters
    ----------
    nets : sequence of N >= 2 networks (Student, MLP, TorchNetwork or torch.nn.Module)
        Networks of one structure.
    objective : Objective, optional
        When given, ``scores`` compares the merged network with the members and their ensemble.
    max_sweeps : int
        Most passes over the N networks (each pass: one weight matching per network).
    seed : int or Generator
        The order of the networks in each pass and of the layers in each weight matching.

    Returns
    -------
    MergeResult

    Examples
    --------
    >>> import numpy as np, twolayer as tl
    >>> A = tl.MLP.init((3, 6, 2), seed=0)
    >>> copies = [tl.permute(A, [np.random.default_rng(s).permutation(6)]) for s in range(4)]
    >>> res = tl.merge_many(copies)
    >>> X = np.ones((2, 3))
    >>> bool(np.allclose(res.merged(X), A(X)))
    True

    References
    ----------
    S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
    """
    if isinstance(nets, (str, bytes)) or not isinstance(nets, Sequence) or len(nets) < 2:
        got = len(nets) if isinstance(nets, Sequence) else type(nets).__name__
        raise ValueError(f"nets must be a sequence of at least 2 networks to merge; got {got}")
    max_sweeps = check_positive_int("max_sweeps", max_sweeps)
    if objective is not None:
        check_objective(objective)
    nets = [as_network(net, objective) for net in nets]
    for net in nets[1:]:
        check_compatible(nets[0], net)
    spec = nets[0].permutation_spec()
    arrays = [net.arrays() for net in nets]
    rng = as_generator(seed)
    perms = [{name: np.arange(spec.size(arrays[0], name)) for name in spec.names}]
    perms += [weight_matching(spec, arrays[0], a, seed=rng)[0] for a in arrays[1:]]
    aligned = [permute(net, p).arrays() for net, p in zip(nets, perms)]
    sweeps = 0
    for _ in range(max_sweeps):
        sweeps += 1
        changed = False
        for j in rng.permutation(len(nets)):
            reference = _mean_arrays([a for k, a in enumerate(aligned) if k != j])
            tries = [weight_matching(spec, reference, arrays[j], seed=rng, start=start) for start in (perms[j], None)]
            new, info = max(tries, key=lambda found: found[1]["objective"])
            if info["objective"] > _inner(spec, reference, aligned[j]) and any(
                    not np.array_equal(new[name], perms[j][name]) for name in spec.names):
                perms[j], changed = new, True
                aligned[j] = permute(nets[j], new).arrays()
        if not changed:
            break
    merged = nets[0].with_arrays(_mean_arrays(aligned))
    if objective is not None and merged.has_batch_norm:
        merged = merged.with_batch_stats(objective.inputs(merged.in_features))
    result = MergeResult(merged, perms, sweeps)
    if objective is not None:
        result.scores = merge_scores(nets, merged, objective)
    return result


class _Ensemble:
    """The mean of N networks' outputs, as rows of shape (n, outputs)."""

    def __init__(self, nets):
        self.nets = nets

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.mean([np.asarray(net(X)).reshape(len(X), -1) for net in self.nets], axis=0)


def _ensemble_student(nets: Sequence[Student]) -> Student:
    """f = mean_j f_j exactly, as one standard-scaled student of width sum_j m_j."""
    a = np.concatenate([net.c * net.a / len(nets) for net in nets])
    return Student(a, np.vstack([net.W for net in nets]), "standard")


def merge_scores(nets: Sequence, merged, objective: Objective) -> dict[str, tuple[float, float | None]]:
    """(loss, error) of the merged network, the mean over the members and of their ensemble.

    Parameters
    ----------
    nets : sequence of N networks
    merged : network
    objective : Objective

    Returns
    -------
    dict
        ``merged``, ``members``, ``ensemble``: (loss, error rate or None).
    """
    members = [objective.scores(net) for net in nets]
    errors = [e for _, e in members]
    mean_error = None if errors[0] is None else float(np.mean(errors))
    if objective.data is None:  # a population loss: the ensemble of students is itself a student
        ensemble = objective.scores(_ensemble_student(nets))
    else:
        ensemble = objective.scores_of_outputs(_Ensemble(nets)(objective.data[0]))
    return {"merged": objective.scores(merged), "members": (float(np.mean([s for s, _ in members])), mean_error),
            "ensemble": ensemble}
