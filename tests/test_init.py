"""Initialisation schemes (twolayer.init): draws against their formulas and against PyTorch, and
their places on the Luo et al. phase diagram."""

import numpy as np
import pytest
from scipy import stats

import twolayer as tl
from twolayer.init import (
    LeCunNormal,
    MeanField,
    PhasePoint,
    PyTorchDefault,
    Regime,
    SmallScale,
    init_scheme,
)

M, D, DRAWS = 64, 10, 200


def _pool(init, m=M, d=D, draws=DRAWS):
    """a and W of ``draws`` independent students, stacked: shapes (draws, m), (draws, m, d)."""
    out = [tl.Student.init(m, d, init=init, seed=s) for s in range(draws)]
    return np.array([s.a for s in out]), np.array([s.W for s in out])


@pytest.mark.parametrize("init", [SmallScale(0.1, False), SmallScale(0.1, True), PyTorchDefault(), LeCunNormal(),
                                  MeanField()])
def test_second_moments_match_the_schemes_scales(init):
    """E a_i^2 = beta_1^2 and E |w_i|^2 = beta_2^2 (Monte Carlo, 12 800 neurons, 5 standard errors)."""
    a, W = _pool(init)
    b1, b2, alpha = init.scales(M, D)
    for sample, target in ((a.ravel() ** 2, b1**2), ((W**2).sum(-1).ravel(), b2**2)):
        se = sample.std() / np.sqrt(sample.size)
        assert abs(sample.mean() - target) < 5 * se, (init, sample.mean(), target)
    assert np.abs(a.mean()) < 5 * a.std() / np.sqrt(a.size)  # centred
    assert tl.Student.init(M, D, init=init).c == 1.0 / alpha


@pytest.mark.parametrize("init, law_a, law_w", [
    (PyTorchDefault(), stats.uniform(-M**-0.5, 2 * M**-0.5), stats.uniform(-D**-0.5, 2 * D**-0.5)),
    (LeCunNormal(), stats.norm(0, M**-0.5), stats.norm(0, D**-0.5)),
    (SmallScale(0.1, False), stats.norm(0, 0.1), stats.norm(0, 0.1 * D**-0.5)),
    (MeanField(2.0), stats.norm(0, 2.0), stats.norm(0, 2.0 * D**-0.5)),
])
def test_marginals_follow_their_laws(init, law_a, law_w):
    """Kolmogorov-Smirnov of a_i and of the coordinates W_ij against the scheme's formula."""
    a, W = _pool(init, draws=50)
    assert stats.kstest(a.ravel(), law_a.cdf).pvalue > 1e-3
    assert stats.kstest(W.ravel(), law_w.cdf).pvalue > 1e-3


def test_balanced_outputs_are_plus_minus_the_neuron_norms():
    s = tl.Student.init(M, D, init=SmallScale(0.3, True), seed=1)
    np.testing.assert_allclose(np.abs(s.a), np.linalg.norm(s.W, axis=1))
    assert 0 < (s.a > 0).sum() < M


def test_pytorch_default_draws_what_nn_linear_draws():
    """Two-sample KS between our draws and torch.nn.Linear(bias=False)'s own initialisation, for
    both layers (fan_in d for the hidden layer, fan_in m for the output layer), and equal moments."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    hidden = np.concatenate([torch.nn.Linear(D, M, bias=False).weight.detach().numpy().ravel() for _ in range(50)])
    output = np.concatenate([torch.nn.Linear(M, 1, bias=False).weight.detach().numpy().ravel() for _ in range(50)])
    a, W = _pool(PyTorchDefault(), draws=50)
    assert stats.ks_2samp(W.ravel(), hidden).pvalue > 1e-3
    assert stats.ks_2samp(a.ravel(), output).pvalue > 1e-3
    assert hidden.max() <= D**-0.5 and -hidden.min() <= D**-0.5  # torch's support is ours
    assert abs(hidden.var() / W.var() - 1) < 0.05
    # the test has power: the LeCun normal draw of the same variance scale is told apart
    a_normal, _ = _pool(LeCunNormal(), draws=50)
    assert stats.ks_2samp(a_normal.ravel() / np.sqrt(3), output).pvalue < 1e-3


def test_phase_diagram_limits_and_effective_locations():
    assert PyTorchDefault().exponents() == PhasePoint(0.5, 0.5)
    assert LeCunNormal().exponents() == PhasePoint(0.5, 0.5)
    assert MeanField().exponents() == PhasePoint(1.0, 0.0)
    assert SmallScale(1e-3).exponents() == PhasePoint(0.0, 0.0)
    assert [i.regime() for i in (PyTorchDefault(), MeanField(), SmallScale(1e-3))] == \
        [Regime.LINEAR, Regime.CRITICAL, Regime.LINEAR]
    # a fixed small scale: condensed at every simulated width, effective gamma = -log(s^2)/log m
    for m in (2, 16, 256, 10**5):
        assert SmallScale(1e-3).exponents(m).gamma == pytest.approx(-np.log(1e-6) / np.log(m))
        assert SmallScale(1e-3).regime(m) is Regime.CONDENSED
    assert SmallScale(1e-3).regime(10**7) is Regime.LINEAR
    # PyTorch: effective gamma = 1/2 + log 3 / log m -> 1/2
    assert PyTorchDefault().exponents(16).gamma == pytest.approx(0.5 + np.log(3) / np.log(16))
    # regions of the plane (Luo et al.): the critical line gamma' = gamma - 1 for gamma > 1
    assert PhasePoint(2.0, 1.0).regime is Regime.CRITICAL
    assert PhasePoint(2.0, 0.5).regime is Regime.CONDENSED
    assert PhasePoint(2.0, 1.5).regime is Regime.LINEAR
    assert PhasePoint(1.0, -3.0).regime is Regime.CRITICAL


def test_old_arguments_map_to_small_scale():
    old = tl.Student.init(8, 3, 0.1, seed=4, balanced=True)
    new = tl.Student.init(8, 3, init=SmallScale(0.1, True), seed=4)
    np.testing.assert_array_equal(old.W, new.W)
    np.testing.assert_array_equal(old.a, new.a)
    mf = tl.Student.init(8, 3, 0.5, seed=4, scaling="meanfield")
    assert mf.c == 1 / 8
    np.testing.assert_array_equal(mf.W, tl.Student.init(8, 3, init=MeanField(0.5), seed=4).W)


@pytest.mark.parametrize("call, field", [
    (lambda: SmallScale(-1.0), "s (initialisation scale)"),
    (lambda: SmallScale(0.1, balanced="yes"), "balanced"),
    (lambda: init_scheme("xavier"), "init must be one of"),
    (lambda: init_scheme("pytorch", s=0.1), "init 'pytorch' takes no scale"),
    (lambda: tl.Student.init(4, 3, 0.1, init=PyTorchDefault()), "give either init"),
    (lambda: tl.Student.init(4, 3, init="pytorch"), "init must be a twolayer.init.Init"),
    (lambda: PyTorchDefault().exponents(1), "m must be an integer >= 2"),
])
def test_bad_values_name_the_field(call, field):
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value).startswith(field) and "\n" not in str(e.value)
