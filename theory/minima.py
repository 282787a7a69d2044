"""Global minima of the teacher-student loss for an orthonormal teacher, and samplers.

For f* = sum_j b_j sigma(e_j . x) (b_j > 0), the generic zero-loss set (derivation:
docs/theory.md, section 1) is the set of *condensed* students:

- every active neuron lies on a teacher ray, w_i = r_i e_{j(i)} with r_i > 0;
- every other neuron is inactive, (a_i, w_i) = (0, 0) (trained output) or w_i = 0 (frozen);
- the output masses on each ray add up: sum_{i: j(i)=j} c a_i r_i = b_j.

A sample is drawn in two stages: an *allocation* of neurons to types (k rays + inactive),
then a *split* of each ray's mass b_j among its neurons.

allocation  uniform  each neuron's type uniform over the k rays and "inactive"
            sparse   inactive with probability ``r``, else a uniform ray
            (both conditioned on every ray receiving a neuron, by rejection)
split       equal       mass b_j / n_j to each of the n_j neurons of ray j
            dirichlet   masses b_j p, p ~ Dirichlet(alpha 1_{n_j})
balance     balanced    |a_i| = r_i (what gradient flow from a small balanced init keeps)
            unbalanced  r_i = mass^(1/2) * exp(g), g ~ N(0, 1/4), a_i = mass / (c r_i)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twolayer import Scaling, SeedLike, Student, Teacher, as_generator
from twolayer.init import check_scaling
from twolayer.validation import check_choice, check_positive_float, check_positive_int

ALLOCATIONS = ("uniform", "sparse")
SPLITS = ("equal", "dirichlet")
INACTIVE = -1  # the type label of an inactive neuron
MAX_TRIES = 10_000


@dataclass
class Minimum:
    """A sampled condensed minimum: the student and each neuron's ray (INACTIVE = -1)."""

    student: Student
    rays: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """n_j, the number of neurons on each ray."""
        k = int(self.rays.max()) + 1 if self.rays.size and self.rays.max() >= 0 else 0
        return np.bincount(self.rays[self.rays >= 0], minlength=k)


def type_probabilities(k: int, allocation: str = "uniform", r: float = 0.5) -> np.ndarray:
    """P(type) for the k rays and, last, "inactive"."""
    check_choice("allocation", allocation, ALLOCATIONS)
    r = check_positive_float("r", r, allow_zero=True)
    if r >= 1:
        raise ValueError(f"r must lie in [0, 1); got {r}")
    return (np.full(k + 1, 1.0 / (k + 1)) if allocation == "uniform"
            else np.append(np.full(k, (1 - r) / k), r))


def allocate(m: int, k: int, allocation: str = "uniform", r: float = 0.5,
             seed: SeedLike = 0) -> np.ndarray:
    """Ray of each of m neurons (INACTIVE for inactive), every ray covered (needs m >= k)."""
    m, k = check_positive_int("m", m), check_positive_int("k", k)
    probs = type_probabilities(k, allocation, r)
    if m < k:
        raise ValueError(f"m must be >= k for a zero-loss minimum; got m={m}, k={k}")
    rng = as_generator(seed)
    for _ in range(MAX_TRIES):
        types = rng.choice(k + 1, size=m, p=probs)
        if np.all(np.bincount(types, minlength=k + 1)[:k] > 0):
            return np.where(types == k, INACTIVE, types)
    # rejection is hopeless when coverage is rare (m close to k): place one neuron per ray first
    types = rng.choice(k + 1, size=m, p=probs)
    types[rng.permutation(m)[:k]] = np.arange(k)
    return np.where(types == k, INACTIVE, types)


def sample_minimum(teacher: Teacher, m: int, allocation: str = "uniform", r: float = 0.5,
                   split: str = "equal", alpha: float = 1.0, balanced: bool = True,
                   scaling: Scaling | str = Scaling.STANDARD, train_output: bool = True,
                   seed: SeedLike = 0) -> Minimum:
    """A condensed global minimum of width m for an orthonormal teacher (module docstring).

    With frozen outputs (a_i = 1) only the split is random: r_i = b_j p_i / c.
    """
    check_orthonormal(teacher)
    rng = as_generator(seed)
    rays = allocate(m, teacher.k, allocation, r, rng)
    return minimum_from_rays(teacher, rays, split, alpha, balanced, scaling, train_output, rng)


def minimum_from_rays(teacher: Teacher, rays: np.ndarray, split: str = "equal", alpha: float = 1.0,
                      balanced: bool = True, scaling: Scaling | str = Scaling.STANDARD, train_output: bool = True,
                      seed: SeedLike = 0) -> Minimum:
    """The condensed minimum with the given ray of each neuron (INACTIVE = -1); the split of
    each ray's mass and the magnitudes as in ``sample_minimum``."""
    check_choice("split", split, SPLITS)
    alpha = check_positive_float("alpha", alpha)
    rng = as_generator(seed)
    m = rays.size
    c = check_scaling(scaling).c(m)
    mass = np.zeros(m)
    for j in range(teacher.k):
        idx = np.flatnonzero(rays == j)
        p = (np.full(idx.size, 1.0 / idx.size) if split == "equal"
             else rng.dirichlet(np.full(idx.size, alpha)))
        mass[idx] = teacher.b[j] * p
    active = rays >= 0
    W = np.zeros((m, teacher.d))
    if not train_output:
        radius = mass / c
        a = np.ones(m)
    elif balanced:
        radius = np.sqrt(mass / c)
        a = radius.copy()
    else:
        radius = np.sqrt(mass / c) * np.exp(0.5 * rng.standard_normal(m))
        a = np.divide(mass / c, radius, out=np.zeros(m), where=radius > 0)
    W[active] = teacher.V[rays[active]] * radius[active, None]
    return Minimum(Student(a, W, scaling, train_output), rays)


def check_orthonormal(teacher: Teacher) -> None:
    """The closed forms of this package need v_j = orthonormal and b_j > 0."""
    if not isinstance(teacher, Teacher):
        raise ValueError(f"teacher must be a twolayer.Teacher; got {type(teacher).__name__}")
    if not np.allclose(teacher.V @ teacher.V.T, np.eye(teacher.k), atol=1e-12):
        raise ValueError("teacher directions V must be orthonormal (use Teacher.orthonormal)")
    if np.any(teacher.b <= 0):
        raise ValueError("teacher output weights b must be > 0")
