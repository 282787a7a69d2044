"""Training: convergence, reproducibility, divergence, checkpoints, replicas."""

import numpy as np
import pytest

import twolayer as tl


@pytest.mark.parametrize("m", [3, 6, 12, 24])
def test_population_gd_fits_orthonormal_teacher_from_small_init(m):
    teacher = tl.Teacher.orthonormal(3, 12)
    student = tl.Student.init(m, 12, scale=1e-3, seed=m, balanced=True)
    result = tl.train(student, tl.Population(teacher), lr=0.5, steps=40_000, tol=1e-9)
    assert not result.diverged
    assert result.final_loss < 1e-8
    assert tl.population_loss(result.net, teacher) == pytest.approx(result.final_loss)


def test_empirical_gd_and_sgd_lower_the_loss():
    teacher = tl.Teacher.orthonormal(3, 8)
    student = tl.Student.init(16, 8, scale=0.3, seed=0)
    for kwargs in (dict(method="gd", lr=0.1, steps=300),
                   dict(method="sgd", batch=32, lr=0.02, steps=2000),
                   dict(method="sgd", batch=32, lr=0.02, steps=2000, replace=False)):
        data = tl.Empirical.sample(teacher, 1000, seed=1)
        r = tl.train(student, data, seed=1, **kwargs)
        assert r.objective is tl.TrainLoss.EMPIRICAL
        assert r.final_loss < 0.1 * r.losses[0], kwargs
        assert tl.empirical_loss(r.net, data.X, data.y) == pytest.approx(r.final_loss, rel=1e-12)


def test_online_sgd_tracks_population_gd():
    teacher = tl.Teacher.orthonormal(3, 12)
    student = tl.Student.init(12, 12, scale=0.3, seed=1)
    gd = tl.train(student, tl.Population(teacher), lr=0.02, steps=2000, record_every=200)
    online = tl.train(student, tl.Population(teacher), method="online", batch=256, lr=0.02, steps=2000,
                      record_every=200, seed=3)
    assert online.objective is tl.TrainLoss.POPULATION
    np.testing.assert_array_equal(gd.loss_steps, online.loss_steps)
    assert np.all(np.abs(online.losses - gd.losses) <= 0.25 * gd.losses)
    assert online.final_loss < 0.02 * online.losses[0]


@pytest.mark.parametrize("method,loss", [("gd", "population"), ("gd", "empirical"),
                                         ("sgd", "empirical"), ("online", "population")])
def test_same_seed_gives_identical_arrays(method, loss):
    teacher = tl.Teacher.random(2, 5, seed=4)
    student = tl.Student.init(9, 5, scale=0.5, seed=2)
    objective = tl.Population(teacher) if loss == "population" else tl.Empirical.sample(teacher, 200, seed=7)
    kw = dict(method=method, lr=0.05, steps=150, seed=7, checkpoints=[0, 75, 150])
    if method != "gd":
        kw["batch"] = 16
    r1, r2 = tl.train(student, objective, **kw), tl.train(student, objective, **kw)
    np.testing.assert_array_equal(r1.net.W, r2.net.W)
    np.testing.assert_array_equal(r1.net.a, r2.net.a)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    assert [c[0] for c in r1.checkpoints] == [0, 75, 150]
    np.testing.assert_array_equal(r1.checkpoints[1][1].W, r2.checkpoints[1][1].W)
    assert not np.array_equal(r1.checkpoints[0][1].W, r1.checkpoints[2][1].W)


def test_checkpoints_are_the_states_of_a_shorter_run():
    teacher = tl.Teacher.orthonormal(2, 4)
    student = tl.Student.init(6, 4, scale=0.5, seed=0)
    long = tl.train(student, tl.Population(teacher), lr=0.1, steps=500, checkpoints=[123])
    short = tl.train(student, tl.Population(teacher), lr=0.1, steps=123)
    np.testing.assert_array_equal(long.checkpoints[0][1].W, short.net.W)


def test_divergence_is_reported_not_raised():
    teacher = tl.Teacher.orthonormal(3, 6)
    student = tl.Student.init(8, 6, scale=1.0, seed=0)
    r = tl.train(student, tl.Population(teacher), lr=50.0, steps=1000)
    assert r.diverged and not r.converged and r.steps < 1000
    r = tl.train(student, tl.Empirical.sample(teacher, 100), method="sgd", lr=500.0, steps=1000)
    assert r.diverged


def test_frozen_output_weights_stay_fixed():
    teacher = tl.Teacher.orthonormal(2, 4)
    student = tl.Student.init(5, 4, scale=0.1, seed=0, train_output=False)
    r = tl.train(student, tl.Population(teacher), lr=0.1, steps=200)
    np.testing.assert_array_equal(r.net.a, np.ones(5))
    assert r.final_loss < r.losses[0]


def test_replicas_equal_individual_runs():
    teacher = tl.Teacher.orthonormal(3, 8)
    students = [tl.Student.init(10, 8, scale=1e-2, seed=s) for s in range(5)]
    batch = tl.train_replicas(students, tl.Population(teacher), lr=0.3, steps=3000, tol=1e-7)
    for s, rb in zip(students, batch):
        r = tl.train(s, tl.Population(teacher), lr=0.3, steps=3000, tol=1e-7)
        np.testing.assert_array_equal(r.net.W, rb.net.W)
        np.testing.assert_array_equal(r.losses, rb.losses)
        assert r.steps == rb.steps and r.converged == rb.converged


def test_checkpoints_accept_a_numpy_array():
    # regression: an array of steps raised "truth value of an array is ambiguous"
    teacher = tl.Teacher.orthonormal(2, 4)
    r = tl.train(tl.Student.init(4, 4, seed=0), tl.Population(teacher), steps=20, checkpoints=np.array([0, 10, 20]))
    assert [s for s, _ in r.checkpoints] == [0, 10, 20]
