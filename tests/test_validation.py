"""Bad input gets a ValueError that names the field."""

import numpy as np
import pytest

import twolayer as tl


@pytest.mark.parametrize("call,field", [
    (lambda: tl.Teacher.orthonormal(5, 3), "k must be <= d"),
    (lambda: tl.Teacher.orthonormal(0, 3), "k"),
    (lambda: tl.Teacher.random(2, -1), "d"),
    (lambda: tl.Teacher(np.ones((2, 3)), np.ones(3)), "b (teacher output weights)"),
    (lambda: tl.Teacher(np.ones(3), np.ones(3)), "V (teacher directions)"),
    (lambda: tl.Teacher(np.ones((2, 3)), [1.0, np.nan]), "finite"),
    (lambda: tl.Teacher(np.ones((2, 3)), np.ones(2), inputs="uniform"), "inputs"),
    (lambda: tl.Student.init(0, 3), "m"),
    (lambda: tl.Student.init(3, 3, scale=0.0), "scale"),
    (lambda: tl.Student.init(3, 3, scaling="ntk"), "scaling"),
    (lambda: tl.Student.init(3, 3, seed=-1), "seed"),
    (lambda: tl.Student(np.ones(2), np.ones((3, 4))), "a (student output weights)"),
    (lambda: tl.Student(np.ones(3), np.full((3, 4), np.inf)), "W (student first layer)"),
    (lambda: tl.Student(np.ones(3), np.ones((3, 4)), train_output="yes"), "train_output"),
])
def test_model_fields(call, field):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert field in str(info.value)


@pytest.fixture
def pair():
    return tl.Student.init(4, 3, seed=0), tl.Teacher.orthonormal(2, 3)


@pytest.mark.parametrize("kwargs,field", [
    (dict(method="adam"), "method"),
    (dict(loss="hinge"), "loss"),
    (dict(lr=0.0), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(steps=-1), "steps"),
    (dict(steps=1.5), "steps"),
    (dict(tol=-1.0), "tol"),
    (dict(loss="empirical"), "n"),
    (dict(loss="empirical", n=0), "n"),
    (dict(method="sgd", loss="empirical", n=10, batch=0), "batch"),
    (dict(method="sgd", loss="empirical", n=10, batch=11, replace=False), "batch"),
    (dict(method="sgd"), "loss"),
    (dict(method="online", loss="empirical", n=10), "loss"),
    (dict(record_every=0), "record_every"),
    (dict(steps=10, checkpoints=[11]), "checkpoints"),
    (dict(seed=-3), "seed"),
    (dict(loss="empirical", data=(np.ones((5, 2)), np.ones(5))), "X"),
    (dict(loss="empirical", data=(np.ones((5, 3)), np.ones(4))), "y"),
])
def test_train_fields(pair, kwargs, field):
    student, teacher = pair
    with pytest.raises(ValueError) as info:
        tl.train(student, teacher, **kwargs)
    assert field in str(info.value)


def test_dimension_mismatch(pair):
    student, _ = pair
    with pytest.raises(ValueError, match="teacher.d"):
        tl.population_loss(student, tl.Teacher.orthonormal(2, 5))
    with pytest.raises(ValueError, match="backend"):
        tl.population_loss(student, tl.Teacher.orthonormal(2, 3), backend="torch")
