"""Synthetic inputs and teacher-labelled data sets."""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_positive_int
from ..model import INPUT_LAWS, SeedLike, Teacher, as_generator


def sample_inputs(law: str, n: int, d: int, seed: SeedLike = 0) -> np.ndarray:
    """n inputs in R^d: ``gaussian`` x ~ N(0, I_d) or ``sphere`` x ~ Unif(S^{d-1})."""
    check_choice("inputs", law, INPUT_LAWS)
    n = check_positive_int("n", n)
    d = check_positive_int("d", d)
    X = as_generator(seed).standard_normal((n, d))
    if law == "sphere":
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def teacher_dataset(teacher: Teacher, n: int, seed: SeedLike = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) with X drawn from the teacher's input law and y = f*(X)."""
    X = sample_inputs(teacher.inputs, n, teacher.d, seed)
    return X, teacher(X)
