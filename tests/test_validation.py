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


def _entry_points():
    """Every public entry point that takes an input law, a matching method, a loss, a training
    method or a barrier kind by name, called with a misspelt name."""
    from theory.fits import bootstrap_extremum, extremum
    from theory.minima import sample_minimum
    from theory.wasserstein import transport_cost
    from twolayer.deep.mlp import loss_and_grads

    T = tl.Teacher.orthonormal(2, 3)
    A, B = tl.Student.init(3, 3, seed=0), tl.Student.init(3, 3, seed=1)
    X = np.random.default_rng(0).standard_normal((8, 3))
    net = tl.MLP.init((3, 4, 2))
    return [
        ("inputs", lambda: tl.Teacher(T.V, T.b, inputs="gausian")),
        ("inputs", lambda: tl.Teacher.orthonormal(2, 3, inputs="shpere")),
        ("inputs", lambda: tl.Teacher.random(2, 3, inputs="Gaussian")),
        ("inputs", lambda: tl.input_law("uniform")),
        ("inputs", lambda: transport_cost(A, B, np.arange(3), inputs="gausian")),
        ("method", lambda: tl.match(A, B, "weigths")),
        ("method", lambda: tl.match(net, net, "activation")),
        ("method", lambda: tl.barrier_modulo_permutation(A, B, tl.Population(T), method="OT")),
        ("method", lambda: tl.train(A, tl.Population(T), "GD")),
        ("method", lambda: tl.train(net, tl.Classification(X, np.zeros(8, dtype=int)), "adam")),
        ("loss", lambda: tl.Classification(X, np.zeros(8, dtype=int), "cross_entropy")),
        ("kind", lambda: tl.barrier(A, B, tl.Population(T), kind="supremum")),
        ("kind", lambda: tl.path_barrier(lambda t: A, lambda s: 0.0, kind="mid")),
        ("objective", lambda: tl.barrier(A, B, "population")),
        ("objective", lambda: tl.train(A, "empirical")),
        ("objective", lambda: tl.match(A, B, "activations", objective="data")),
        ("measure", lambda: tl.neuron_measure(A, "output-mass")),
        ("scaling", lambda: tl.Student.init(3, 3, scaling="mean-field")),
        ("scaling", lambda: tl.to_student(tl.to_mlp(A), scaling="NTK")),
        ("backend", lambda: tl.population_loss(A, T, backend="jax")),
        # regression: any kind but "max" used to mean the minimum
        ("kind", lambda: extremum([1.0, 2.0, 4.0], [0.0, 1.0, 0.0], "maximum")),
        ("kind", lambda: bootstrap_extremum([1.0, 2.0, 4.0], [[0.0], [1.0], [0.0]], "Max")),
        ("scaling", lambda: sample_minimum(T, 4, scaling="mean_field")),
        # regression: a bool passed as the loss of the MLP's backpropagation silently meant MSE
        ("loss", lambda: loss_and_grads(net, X, np.zeros(8, dtype=int), True)),
    ]


@pytest.mark.parametrize("index", range(len(_entry_points())))
def test_a_misspelt_name_is_a_clear_error_everywhere(index):
    field, call = _entry_points()[index]
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert field in message and "one of" in message or "objective must be" in message, message
    assert "\n" not in message
