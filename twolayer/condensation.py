"""Sparsity and condensation of a student's neurons.

With the output mass of neuron i, c_i = |a_i| |w_i| (times the output scale c):
effective number of neurons  N_eff = (sum_i c_i)^2 / sum_i c_i^2  (participation ratio)
active neurons               c_i > threshold * max_l c_l
neurons per teacher ray      active i with cos(w_i, v_j) >= cos_threshold
balance                      |a_i| - |w_i| (conserved by gradient flow for each neuron)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Student, Teacher, check_pair, check_student
from .validation import check_positive_float


@dataclass
class SparsityReport:
    effective_neurons: float
    active: int
    dead: int
    per_direction: np.ndarray | None
    alignment: np.ndarray | None
    balance: np.ndarray
    mass: np.ndarray


def sparsity(student: Student, teacher: Teacher | None = None, threshold: float = 1e-3,
             cos_threshold: float = 0.99) -> SparsityReport:
    """How condensed a student is (module docstring).

    Parameters
    ----------
    student : Student
    teacher : Teacher, optional
        With it, neurons are counted per teacher direction: ``alignment[i]`` =
        max_j cos(w_i, v_j), aligned when above ``cos_threshold``.
    threshold : float
        A neuron is active when its output mass c |a_i| |w_i| is at least this fraction of the
        largest one.
    cos_threshold : float

    Returns
    -------
    SparsityReport
        ``effective_neurons`` = (sum_i rho_i)^2 / sum_i rho_i^2 with rho_i = c |a_i| |w_i| (the
        participation ratio), active and dead counts, neurons per teacher direction.
    """
    check_student("student", student)
    threshold = check_positive_float("threshold", threshold, allow_zero=True)
    cos_threshold = check_positive_float("cos_threshold", cos_threshold)
    norms = np.linalg.norm(student.W, axis=1)
    mass = student.output_mass
    total = mass.sum()
    n_eff = float(total**2 / np.sum(mass**2)) if total > 0 else 0.0
    active = mass > threshold * mass.max() if total > 0 else np.zeros(student.m, dtype=bool)
    per_direction = alignment = None
    if teacher is not None:
        check_pair(student, teacher)
        U = np.divide(student.W, norms[:, None], out=np.zeros_like(student.W),
                      where=norms[:, None] > 0)
        cos = U @ (teacher.V / np.linalg.norm(teacher.V, axis=1, keepdims=True)).T
        alignment = cos.max(axis=1)
        per_direction = ((cos >= cos_threshold) & active[:, None]).sum(axis=0)
    return SparsityReport(n_eff, int(active.sum()), int(student.m - active.sum()), per_direction,
                          alignment, np.abs(student.a) - norms, mass)
