"""The network protocol: every network offers every member, and the core asks nothing else."""

from pathlib import Path

import numpy as np
import pytest

import twolayer as tl
from twolayer.network import Network, NetworkKind, network_kind

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def _networks():
    return [tl.Student.init(4, 3, seed=0), tl.MLP.init((3, 5, 2), seed=0), tl.vgg((1, 12), 2, width=0.25, seed=0)]


def _members():
    names = set(vars(Network)) | set(Network.__annotations__)
    return sorted(name for name in names if not name.startswith("_") or name == "__call__")


def test_every_network_offers_every_member_of_the_protocol():
    members = _members()
    assert {"kind", "in_features", "has_batch_norm", "loss_and_grads", "second_moments"} <= set(members)
    for net in _networks():
        missing = [name for name in members if not hasattr(net, name)]
        assert missing == [], type(net).__name__
        assert network_kind(net) is net.kind and net.kind.value == type(net).__name__


def test_members_a_network_cannot_give_say_what_to_use():
    student, _, conv = _networks()
    with pytest.raises(ValueError, match="use method='weights' or 'activations'"):
        conv.second_moments(tl.Classification(np.ones((4, 12)), np.zeros(4, dtype=int), shape=(1, 12)))
    with pytest.raises(ValueError, match="Classification objective"):
        tl.MLP.init((3, 4, 2)).loss_and_grads(tl.Empirical(np.ones((4, 3)), np.ones(4)))
    assert student.with_batch_stats(np.ones((2, 3))) is student and not student.has_batch_norm


def test_the_core_names_no_network_class():
    """objective, matching, barriers, training and the alignment modules ask the protocol, never a class."""
    for module in ("objective", "matching", "barriers", "training", "merge", "repair", "ste", "sinkhorn", "certify"):
        source = (ROOT / "twolayer" / f"{module}.py").read_text()
        for name in ("MLP", "TorchNetwork"):
            assert f"isinstance(net, {name}" not in source and f"import {name}" not in source, (module, name)
        assert "isinstance(A, Student)" not in source and "isinstance(net, Student)" not in source, module


def test_network_kind_of_anything_else_is_none():
    assert network_kind("Student") is None and network_kind(np.ones(3)) is None
    assert [k.value for k in NetworkKind] == ["Student", "MLP", "TorchNetwork"]


def test_one_train_result_for_every_network():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 12)), rng.integers(0, 2, 40)
    task = tl.Classification(X, y, shape=(1, 12))
    teacher = tl.Teacher.orthonormal(2, 3)
    runs = [tl.train(tl.Student.init(4, 3, seed=0), tl.Population(teacher), steps=20, record_every=5),
            tl.train(tl.MLP.init((12, 5, 2), seed=0), task, "sgd", steps=20, batch=8, record_every=5),
            tl.train(tl.vgg((1, 12), 2, width=0.25, seed=0), task, "sgd", steps=20, batch=8, record_every=5)]
    assert {type(r) for r in runs} == {tl.TrainResult}
    for r in runs:
        np.testing.assert_array_equal(r.loss_steps, np.arange(0, 21 if r.objective is tl.TrainLoss.POPULATION
                                                                else 20, 5))
        assert r.steps == 20 and not r.diverged and not r.converged and r.losses.size == r.loss_steps.size
    assert [r.objective for r in runs] == [tl.TrainLoss.POPULATION, tl.TrainLoss.MINIBATCH, tl.TrainLoss.MINIBATCH]
    mse = tl.Classification(X, y, "mse")
    with np.errstate(all="ignore"):
        diverged = tl.train(tl.MLP.init((12, 5, 2), seed=0), mse, "sgd", lr=1e8, steps=50, batch=8, record_every=1)
    assert diverged.diverged and diverged.steps < 50 and diverged.loss_steps.size == diverged.steps


def test_epoch_batches_are_shuffled_epochs():
    """``epoch_batches`` (the student's SGD without replacement and the deep networks' SGD):
    each epoch's batches are disjoint and its tail is dropped."""
    from twolayer.random import epoch_batches

    batches = epoch_batches(10, 3, np.random.default_rng(1))
    epochs = [np.concatenate([next(batches) for _ in range(3)]) for _ in range(4)]
    assert all(np.unique(e).size == 9 for e in epochs)
    with pytest.raises(ValueError, match="batch must lie in"):
        epoch_batches(3, 4, np.random.default_rng(0))
