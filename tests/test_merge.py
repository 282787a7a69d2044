"""MergeMany (twolayer.merge): planted copies merge back exactly, the alternation never lowers the
matching objective, merged vs members vs ensemble, and N < 2 refused."""

import numpy as np
import pytest

import twolayer as tl


@pytest.mark.parametrize("n", [2, 5, 8])
def test_permuted_copies_merge_back_exactly(n):
    rng = np.random.default_rng(n)
    A = tl.MLP.init((5, 32, 24, 3), seed=1)
    copies = [tl.permute(A, {"P1": rng.permutation(32), "P2": rng.permutation(24)}) for _ in range(n)]
    res = tl.merge_many(copies, seed=2)
    X = rng.standard_normal((20, 5))
    np.testing.assert_allclose(res.merged(X), A(X), rtol=0, atol=1e-12)
    first = tl.permute(copies[0], res.perms[0]).arrays()
    for net, perms in zip(copies, res.perms):
        aligned = tl.permute(net, perms).arrays()
        assert all(np.array_equal(aligned[k], first[k]) for k in first)


def test_student_merge_scores_equal_their_definitions():
    teacher = tl.Teacher.orthonormal(2, 4)
    task = tl.Population(teacher)
    nets = [tl.train(tl.Student.init(6, 4, 0.5, seed=s), task, steps=800, lr=0.05).net for s in range(3)]
    res = tl.merge_many(nets, task)
    assert res.scores["merged"][0] == pytest.approx(tl.population_loss(res.merged, teacher), rel=1e-12)
    assert res.scores["members"][0] == pytest.approx(np.mean([tl.population_loss(s, teacher) for s in nets]))
    # the ensemble's exact loss against Monte Carlo on its mean output (5 standard errors)
    X = teacher.inputs.sample(200_000, 4, seed=9)
    sq = 0.5 * (np.mean([s(X) for s in nets], axis=0) - teacher(X)) ** 2
    assert abs(res.scores["ensemble"][0] - sq.mean()) <= 5 * sq.std() / np.sqrt(X.shape[0])
    ensemble_loss = res.scores["ensemble"][0]
    assert ensemble_loss <= res.scores["members"][0]  # convexity of the squared loss in the output


def test_merged_classifier_is_compared_with_members_and_ensemble():
    rng = np.random.default_rng(3)
    task = tl.Classification(rng.standard_normal((200, 6)), rng.integers(0, 3, 200))
    nets = [tl.train(tl.MLP.init((6, 16, 3), seed=s), task, "sgd", lr=0.1, steps=200, batch=50, seed=s).net
            for s in range(4)]
    res = tl.merge_many(nets, task)
    Z = np.mean([net(task.X) for net in nets], axis=0)
    assert res.scores["ensemble"][1] == pytest.approx(np.mean(Z.argmax(1) != task.y))
    assert res.scores["merged"] == task.scores(res.merged)
    assert 1 <= res.sweeps <= 100


@pytest.mark.parametrize("nets, message", [
    ([], "nets must be a sequence of at least 2 networks to merge; got 0"),
    (["one"], "got 1"),
])
def test_fewer_than_two_networks_are_refused(nets, message):
    nets = [tl.MLP.init((3, 4, 2), seed=0)] if nets == ["one"] else nets
    with pytest.raises(ValueError, match=message):
        tl.merge_many(nets)
