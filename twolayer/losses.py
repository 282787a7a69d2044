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
    # writable copies of a, W: the kernels then see the types the training loops give them and numba
    # compiles one specialisation, not a second one for read-only arrays (O(m d), beside O(m^2 d))
    args = (np.array(student.a), np.array(student.W), teacher.V, teacher.b, student.c,
            teacher.inputs.moment_scale(teacher.d))
    if backend == "numpy":
        return reference.population_terms(*args, need_grad=need_grad)
    with single_threaded_blas():
        if student.m >= PARALLEL_MIN_WIDTH:
            if not need_grad:
                return _pop.population_loss(*args), None, None
            return _pop.population_loss_and_grad(*args)
        ga = np.zeros(student.m)
        gW = np.zeros((student.m, student.d))
        loss = _pop.population_terms_serial(*args, need_grad, ga, gW)
    return loss, ga, gW


def population_loss(student: Student, teacher: Teacher, backend: str = "numba") -> float:
    """The population loss R(theta) = 1/2 E[(f(x; theta) - f*(x))^2], in closed form.

    With K(w, v) = E[sigma(w.x) sigma(v.x)] = |w||v| (sin phi + (pi - phi) cos phi) / (2 pi)
    for x ~ N(0, I_d) (phi the angle between w and v),

        R = 1/2 c^2 sum_{i,i'} a_i a_i' K(w_i, w_i') - c sum_{i,j} a_i b_j K(w_i, v_j)
            + 1/2 sum_{j,j'} b_j b_j' K(v_j, v_j'),

    times the input law's moment scale (1 Gaussian, 1/d sphere).

    Parameters
    ----------
    student : Student
    teacher : Teacher
        Same input dimension d as the student; its input law sets the scale.
    backend : {"numba", "numpy"}
        The numba kernels (default) or the NumPy reference.

    Returns
    -------
    float

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(1, 2)
    >>> round(tl.population_loss(tl.Student([0.0], [[1.0, 0.0]]), T), 6)  # 1/2 E[relu(x_1)^2] = 1/4
    0.25

    References
    ----------
    Y. Cho, L. K. Saul. Kernel methods for deep learning. NeurIPS 2009 (the arc-cosine kernel).
    """
    return float(_population(student, teacher, False, backend)[0])


def population_loss_and_grad(student: Student, teacher: Teacher, backend: str = "numba"
                             ) -> tuple[float, np.ndarray, np.ndarray]:
    """(R, dR/da of shape (m,), dR/dW of shape (m, d)), exactly.

    dR/da_i = c (c sum_i' a_i' K(w_i, w_i') - sum_j b_j K(w_i, v_j)) and
    dR/dw_i = c a_i (c sum_i' a_i' grad_w K(w_i, w_i') - sum_j b_j grad_w K(w_i, v_j)), with
    grad_w K(w, v) = ((pi - phi) v + |v| sin phi w/|w|) / (2 pi) (zero at w = 0). dR/da is
    returned even when the output layer is frozen.
    """
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
        return _emp.empirical_terms(X, y, np.array(student.a), np.array(student.W), student.c, need_grad)


def empirical_loss(student: Student, X, y, backend: str = "numba") -> float:
    """The empirical loss L(theta) = 1/(2n) sum_s (f(x_s; theta) - y_s)^2.

    Parameters
    ----------
    student : Student
    X : array of shape (n, d)
    y : array of shape (n,)
    backend : {"numba", "numpy"}

    Returns
    -------
    float
    """
    return float(_empirical(student, X, y, False, backend)[0])


def empirical_loss_and_grad(student: Student, X, y, backend: str = "numba"
                            ) -> tuple[float, np.ndarray, np.ndarray]:
    """(L, dL/da, dL/dW) without forming the n x m activations (numba backend)."""
    loss, ga, gW = _empirical(student, X, y, True, backend)
    return float(loss), ga, gW
