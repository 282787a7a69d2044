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


POP = "population"
EMP = "empirical"


@pytest.mark.parametrize("objective,kwargs,field", [
    (POP, dict(method="adam"), "method"),
    (POP, dict(lr=0.0), "lr"),
    (POP, dict(lr=float("nan")), "lr"),
    (POP, dict(steps=-1), "steps"),
    (POP, dict(steps=1.5), "steps"),
    (POP, dict(tol=-1.0), "tol"),
    (POP, dict(momentum=0.9), "'momentum' does not apply"),
    (POP, dict(method="gd", batch=8), "'batch' does not apply"),
    (EMP, dict(method="sgd", batch=0), "batch"),
    (EMP, dict(method="sgd", batch=11, replace=False), "batch"),
    (POP, dict(method="sgd"), "Empirical"),
    (EMP, dict(method="online"), "Population"),
    (POP, dict(record_every=0), "record_every"),
    (POP, dict(steps=10, checkpoints=[11]), "checkpoints"),
    (POP, dict(seed=-3), "seed"),
])
def test_train_fields(pair, objective, kwargs, field):
    student, teacher = pair
    task = tl.Population(teacher) if objective == POP else tl.Empirical.sample(teacher, 10)
    with pytest.raises(ValueError) as info:
        tl.train(student, task, **kwargs)
    assert field in str(info.value)


@pytest.mark.parametrize("make,field", [
    (lambda: tl.Empirical(np.ones((5, 3)), np.ones(4)), "y"),
    (lambda: tl.Empirical(np.ones(5), np.ones(5)), "X"),
    (lambda: tl.Classification(np.ones((5, 3)), np.ones(5)), "labels"),
    (lambda: tl.Classification(np.ones((5, 3)), np.ones(5, dtype=int), "hinge"), "loss"),
    (lambda: tl.Population("teacher"), "teacher"),
    (lambda: tl.Teacher.orthonormal(2, 3, inputs="gausian"), "inputs"),
])
def test_objective_fields(make, field):
    with pytest.raises(ValueError) as info:
        make()
    assert field in str(info.value)


def test_objective_refuses_a_network_of_the_wrong_kind(pair):
    student, teacher = pair
    with pytest.raises(ValueError, match="X has 2 features"):
        tl.train(student, tl.Empirical(np.ones((5, 2)), np.ones(5)))
    with pytest.raises(ValueError, match="bias-free Student"):
        tl.barrier(tl.MLP.init((3, 4, 1)), tl.MLP.init((3, 4, 1), seed=1), tl.Population(teacher))
    with pytest.raises(ValueError, match="takes a MLP"):
        tl.barrier(student, student, tl.Classification(np.ones((5, 3)), np.zeros(5, dtype=int)))


def test_dimension_mismatch(pair):
    student, _ = pair
    with pytest.raises(ValueError, match="teacher.d"):
        tl.population_loss(student, tl.Teacher.orthonormal(2, 5))
    with pytest.raises(ValueError, match="backend"):
        tl.population_loss(student, tl.Teacher.orthonormal(2, 3), backend="torch")
