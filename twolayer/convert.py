"""Converters between the two-layer ``Student`` and a one-hidden-layer ``MLP``.

Student f(x) = c sum_i a_i sigma(w_i . x) is the MLP with W_1 = W, b_1 = 0, W_2 = c a^T,
b_2 = 0. The converse needs zero biases: the student's closed-form population loss rests on
sigma(w . x) being 1-homogeneous in x, which a bias breaks. A two-layer network with biases
stays an MLP and is analysed under an ``Empirical`` objective (its barrier modulo
permutation included: ``twolayer.barrier_modulo_permutation`` takes MLPs).
"""

from __future__ import annotations

import numpy as np

from .deep.mlp import MLP, check_mlp
from .init import Scaling
from .model import Student, check_student


def to_mlp(student: Student) -> MLP:
    """The MLP computing the same function: sizes (d, m, 1), zero biases.

    Examples
    --------
    >>> import numpy as np, twolayer as tl
    >>> s = tl.Student.init(5, 3, seed=0)
    >>> X = np.ones((2, 3))
    >>> bool(np.allclose(tl.to_mlp(s)(X)[:, 0], s(X)))
    True
    """
    check_student("student", student)
    return MLP((student.W, (student.c * student.a)[None, :]), (np.zeros(student.m), np.zeros(1)))


def to_student(net: MLP, scaling: Scaling | str = Scaling.STANDARD, train_output: bool = True) -> Student:
    """The Student computing the same function as a bias-free MLP of sizes (d, m, 1).

    a = W_2[0] / c, with c = 1 (``standard``) or 1/m (``meanfield``).
    """
    check_mlp("net", net)
    if net.depth != 2 or net.sizes[-1] != 1:
        raise ValueError(f"a Student is an MLP of sizes (d, m, 1); got {net.sizes}")
    if np.any(net.biases[0]) or np.any(net.biases[1]):
        raise ValueError("the Student has no biases (its closed-form population loss needs b1 = b2 = 0); "
                         "analyse a biased network as an MLP under an Empirical objective")
    shape = Student(np.zeros(net.sizes[1]), net.weights[0], scaling, train_output)
    return shape.with_params(net.weights[1][0] / shape.c, shape.W)
