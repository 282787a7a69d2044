"""Learned matchings (issue 23): Sinkhorn re-basin and the straight-through estimator."""

import numpy as np
import pandas as pd
import pytest

import twolayer as tl
from twolayer.sinkhorn import sinkhorn_plan


def test_sinkhorn_plan_equals_pot_and_has_uniform_marginals():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(0)
    C = rng.random((7, 7))
    plan, _ = sinkhorn_plan(C, 0.2, tol=1e-12, max_iter=20_000)
    w = np.full(7, 1 / 7)
    reference = ot.sinkhorn(w, w, C, 0.2, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)
    np.testing.assert_allclose(plan, reference, atol=1e-10)
    np.testing.assert_allclose(plan.sum(0), w, atol=1e-14)
    np.testing.assert_allclose(plan.sum(1), w, atol=1e-11)


def _noisy_copy(net, perms, rng, noise=0.05):
    copy = tl.permute(net, perms)
    return copy.with_arrays({k: v + noise * rng.standard_normal(v.shape) for k, v in copy.arrays().items()})


def test_sinkhorn_with_vanishing_regularisation_recovers_the_weight_matching_permutation():
    rng = np.random.default_rng(1)
    s = tl.Student.init(12, 4, seed=2)
    B = _noisy_copy(s, rng.permutation(12), rng)
    weights = tl.match(s, B)
    for reg in (1e-3, 1e-2):
        np.testing.assert_array_equal(tl.match(s, B, "sinkhorn", reg=reg).perm, weights.perm)
    A = tl.MLP.init((5, 20, 16, 3), seed=3)
    C = _noisy_copy(A, {"P1": rng.permutation(20), "P2": rng.permutation(16)}, rng)
    weights = tl.match(A, C, seed=4)
    sinkhorn = tl.match(A, C, "sinkhorn", reg=1e-3, seed=4)
    for name in ("P1", "P2"):
        np.testing.assert_array_equal(sinkhorn.perms[name], weights.perms[name])
    assert sinkhorn.info["objective"] == pytest.approx(weights.info["objective"], rel=1e-12)


def test_ste_never_ends_above_the_weight_matching_midpoint_loss():
    teacher = tl.Teacher.orthonormal(3, 5)
    task = tl.Population(teacher)
    A, B = (tl.train(tl.Student.init(12, 5, 0.5, seed=s), task, steps=1500, lr=0.05).net for s in (1, 2))
    weights = tl.match(A, B)
    start = tl.population_loss(tl.interpolate(A, tl.permute(B, weights.perm), 0.5), teacher)
    res = tl.match(A, B, "ste", task, steps=60, lr=0.02)
    end = tl.population_loss(tl.interpolate(A, tl.permute(B, res.perm), 0.5), teacher)
    assert res.info["midpoint_loss_start"] == pytest.approx(start, rel=1e-12)
    assert end == pytest.approx(res.info["objective"], rel=1e-12) and end <= start
    rng = np.random.default_rng(5)
    cls = tl.Classification(rng.standard_normal((150, 6)), rng.integers(0, 3, 150))
    M = [tl.train(tl.MLP.init((6, 12, 10, 3), seed=s), cls, "sgd", lr=0.1, steps=200, batch=50, seed=s).net
         for s in range(2)]
    res = tl.match(*M, "ste", cls, steps=30)
    midpoint = cls.loss(tl.interpolate(M[0], tl.permute(M[1], res.perms), 0.5))
    wm = cls.loss(tl.interpolate(M[0], tl.permute(M[1], tl.match(*M).perms), 0.5))
    assert midpoint == pytest.approx(res.info["objective"], rel=1e-12) and midpoint <= wm


def test_ste_gradient_of_a_pytorch_network_equals_backpropagation_of_the_mlp():
    torch = pytest.importorskip("torch")
    from twolayer.deep.mlp import loss_and_grads
    from twolayer.deep.torchnet import TorchNetwork
    from twolayer.deep.trace import traced_spec

    rng = np.random.default_rng(6)
    mlp = tl.MLP.init((4, 7, 3), seed=7)
    module = tl.to_torch(mlp)
    net = TorchNetwork(module, (4,), *traced_spec(module, (4,)))
    for kind in ("ce", "mse"):
        task = tl.Classification(rng.standard_normal((30, 4)), rng.integers(0, 3, 30), kind)
        loss, grads = net.loss_and_grads(task)
        ref_loss, ref = loss_and_grads(mlp, task.X, task.y, task.loss_kind)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        np.testing.assert_allclose(grads["0.weight"], ref["W1"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(grads["2.bias"], ref["b2"], rtol=1e-10, atol=1e-14)
    del torch


@pytest.mark.parametrize("method, options, message", [
    ("sinkhorn", {"reg": -1.0}, "reg must be a finite number > 0; got -1.0"),
    ("sinkhorn", {"reg": 0.0}, "reg must be a finite number > 0; got 0.0"),
    ("sinkhorn", {"max_iter": 0}, "max_iter must be an integer >= 1; got 0"),
    ("ste", {"lr": -0.1}, "lr must be a finite number > 0; got -0.1"),
    ("ste", {"steps": 1.5}, "steps must be an integer >= 0; got 1.5"),
    ("ste", {"epsilon": 1}, "option 'epsilon' does not apply to method 'ste'"),
    ("rebasin", {}, "method must be one of .*'sinkhorn', 'ste'; got 'rebasin'"),
])
def test_bad_options_of_learned_matchings_name_the_field(method, options, message):
    teacher = tl.Teacher.orthonormal(2, 3)
    s, t = tl.Student.init(4, 3, seed=0), tl.Student.init(4, 3, seed=1)
    with pytest.raises(ValueError, match=message):
        tl.match(s, t, method, tl.Population(teacher), **options)
    with pytest.raises(ValueError, match="method='ste' needs an objective"):
        tl.match(s, t, "ste")


def test_the_matching_figure_names_a_method_identical_to_an_earlier_one():
    """weights_cov equals weights on Gaussian inputs: the figure's legend must say the curve is hidden."""
    from sims.experiments.matching import METHODS, _identical_to_earlier

    rng = np.random.default_rng(0)
    columns = {method: rng.random(4) for method in METHODS}
    columns["weights_cov"] = columns["weights"].copy()
    columns["ot"][1] = np.nan
    assert _identical_to_earlier(pd.DataFrame(columns)) == {"weights_cov": "weights"}
    columns["weights_cov"][2] += 1e-15
    assert _identical_to_earlier(pd.DataFrame(columns)) == {}
