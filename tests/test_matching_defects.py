"""Defects of matching found by an independent Git Re-Basin check (issue 23): BLAS threads during
weight matching, PyTorch conv modules matched without an objective, what Matching.info reports."""

import numpy as np
import pytest

import twolayer as tl
from twolayer import matching as matching_module


def test_weight_matching_runs_its_products_with_single_threaded_blas(monkeypatch):
    import scipy.linalg.cython_blas  # noqa: F401  (loaded, so that the limit below reaches it)
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []
    solve = matching_module.assignment

    def recording(cost, *groups):
        seen.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"])
        return solve(cost, *groups)

    monkeypatch.setattr(matching_module, "assignment", recording)
    A, B = tl.MLP.init((5, 12, 9, 3), seed=0), tl.MLP.init((5, 12, 9, 3), seed=1)
    with threadpool_limits(limits=2, user_api="blas"):  # the caller's BLAS: two threads
        tl.match(A, B)
    assert seen and all(threads and max(threads) == 1 for threads in seen)


def test_matching_info_reports_the_objective_and_the_sweeps():
    A, B = tl.MLP.init((5, 12, 9, 3), seed=0), tl.MLP.init((5, 12, 9, 3), seed=1)
    res = tl.match(A, B, seed=3)
    aligned = tl.permute(B, res.perms).arrays()
    by_hand = sum(float(np.sum(A.arrays()[k] * aligned[k])) for k in aligned)
    assert res.info["objective"] == pytest.approx(by_hand, rel=1e-12)
    assert isinstance(res.info["sweeps"], int) and 2 <= res.info["sweeps"] <= 100  # a last sweep changes nothing
    identity = sum(float(np.sum(A.arrays()[k] * B.arrays()[k])) for k in aligned)
    assert res.info["objective"] >= identity
    s, t = tl.Student.init(6, 3, seed=0), tl.Student.init(6, 3, seed=1)
    teacher = tl.Teacher.orthonormal(2, 3)
    for method in ("weights", "weights_cov", "activations", "refine", "ot"):
        info = tl.match(s, t, method, tl.Population(teacher)).info
        assert np.isfinite(info["objective"]) and info["sweeps"] >= 1, method
    refined = tl.match(s, t, "refine", tl.Population(teacher))
    midpoint = tl.population_loss(tl.interpolate(s, tl.permute(t, refined.perm), 0.5), teacher)
    assert refined.info["objective"] == pytest.approx(midpoint, rel=1e-12)


def test_pytorch_conv_modules_match_with_an_input_shape():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv1d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv1d(6, 5, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(5, 3)).double()
    net = tl.from_torch(conv, (1, 10))
    rng = np.random.default_rng(1)
    planted = {"P1": rng.permutation(6), "P2": rng.permutation(5)}
    other = tl.to_torch(tl.permute(net, planted))
    with pytest.raises(ValueError, match="input_shape is needed"):
        tl.match(conv, other, "weights")
    res = tl.match(conv, other, "weights", input_shape=(1, 10))
    back = tl.permute(tl.from_torch(other, (1, 10)), res.perms).arrays()
    assert all(np.array_equal(back[k], v) for k, v in net.arrays().items())
