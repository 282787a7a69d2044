import numpy as np
import pytest

import twolayer as tl


def random_pair(rng, m, k, d, inputs="gaussian", scaling="standard", train_output=True):
    """A random student/teacher pair with generic (non-degenerate) angles."""
    teacher = tl.Teacher(rng.standard_normal((k, d)), rng.standard_normal(k), inputs)
    a = rng.standard_normal(m) if train_output else np.ones(m)
    student = tl.Student(a, rng.standard_normal((m, d)), scaling, train_output)
    return student, teacher


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
