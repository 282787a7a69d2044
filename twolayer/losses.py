"""Population and empirical losses of a student, with exact gradients.

Population loss  R(theta) = 1/2 E[(f(x; theta) - f*(x))^2]   (closed form, see ``reference``)
Empirical loss   L(theta) = 1/(2n) sum_s (f(x_s; theta) - y_s)^2

``backend="numba"`` (default) runs the kernels of ``twolayer._kernels``; ``backend="numpy"``
runs the reference implementations in ``twolayer.reference``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import reference
from ._blas import single_threaded_blas
from ._kernels import empirical as _emp
from ._kernels import population as _pop
from .model import Student, Teacher, check_pair
from .validation import check_array, check_choice

BACKENDS = ("numba", "numpy")
#: below this width the serial population kernel beats the parallel one (measured, m=200: 0.23 vs 0.28 ms)
PARALLEL_MIN_WIDTH = 128


#: seconds per pair of neurons and input dimension of the population kernels (measured here:
#: m = 20000, d = 10 in 0.78 s); used only to announce long evaluations
SECONDS_PER_PAIR_DIM = 2e-10
#: an evaluation estimated to take longer than this is announced with a warning first
ANNOUNCE_SECONDS = 30.0


def _population(student: Student, teacher: Teacher, need_grad: bool, backend: str):
    check_pair(student, teacher)
    check_choice("backend", backend, BACKENDS)
    pairs = (student.m + teacher.k) ** 2 * student.d
    if pairs * SECONDS_PER_PAIR_DIM > ANNOUNCE_SECONDS:
        warnings.warn(f"population loss at m={student.m}, d={student.d}: about "
                      f"{pairs * SECONDS_PER_PAIR_DIM:.0f} s on one core ((m + k)^2 d = {pairs:.2g} kernel terms)",
                      stacklevel=3)
    args = (student.a, student.W, teacher.V, teacher.b, student.c, teacher.inputs.moment_scale(teacher.d))
    if backend == "numpy":
        return reference.population_terms(*args, need_grad=need_grad)
    with single_threaded_blas():
        if student.m >= PARALLEL_MIN_WIDTH:
            if not need_grad:
                return _pop.population_loss(*args), None, None
            return _pop.population_terms(*args, need_grad)
        ga = np.zeros(student.m)
        gW = np.zeros((student.m, student.d))
        loss = _pop.population_terms_serial(*args, need_grad, ga, gW)
    return loss, ga, gW


def population_loss(student: Student, teacher: Teacher, backend: str = "numba") -> float:
    """R(theta) = 1/2 E[(f - f*)^2] in closed form (no sampling)."""
    return float(_population(student, teacher, False, backend)[0])


def population_loss_and_grad(student: Student, teacher: Teacher, backend: str = "numba"
                             ) -> tuple[float, np.ndarray, np.ndarray]:
    """(R, dR/da, dR/dW). dR/da is returned even when the output layer is frozen."""
    loss, ga, gW = _population(student, teacher, True, backend)
    return float(loss), ga, gW


def population_gradient(student: Student, teacher: Teacher, backend: str = "numba") -> np.ndarray:
    """dR/dtheta as a flat vector laid out like ``student.theta``."""
    _, ga, gW = population_loss_and_grad(student, teacher, backend)
    return np.concatenate([ga, gW.ravel()]) if student.train_output else gW.ravel()


def check_data(X, y, d: int) -> tuple[np.ndarray, np.ndarray]:
    """X of shape (n, d) and y of shape (n,), finite."""
    X = check_array("X", X, 2, (None, d))
    y = check_array("y", y, 1, (X.shape[0],))
    return X, y


def _empirical(student: Student, X, y, need_grad: bool, backend: str):
    check_choice("backend", backend, BACKENDS)
    X, y = check_data(X, y, student.d)
    if backend == "numpy":
        return reference.empirical_terms(X, y, student.a, student.W, student.c)
    with single_threaded_blas():
        return _emp.empirical_terms(X, y, student.a, student.W, student.c, need_grad)


def empirical_loss(student: Student, X, y, backend: str = "numba") -> float:
    """L(theta) = 1/(2n) sum_s (f(x_s) - y_s)^2."""
    return float(_empirical(student, X, y, False, backend)[0])


def empirical_loss_and_grad(student: Student, X, y, backend: str = "numba"
                            ) -> tuple[float, np.ndarray, np.ndarray]:
    """(L, dL/da, dL/dW) without forming the n x m activations (numba backend)."""
    loss, ga, gW = _empirical(student, X, y, True, backend)
    return float(loss), ga, gW
