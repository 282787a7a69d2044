"""The width experiment's stopping rule: continuing a stopped pair is the protocol's run, and the
rule's check measures, pair by pair, what the rule changes."""

import numpy as np
import pandas as pd
import pytest

import twolayer as tl
from sims.experiments.width import PROTOCOL_TOL, PROTOCOL_WIDTHS, STOP_TOL, WidthConfig, configs, run, stopping_rule
from sims.profile import Profile
from twolayer.random import child


def test_continuing_from_the_stopping_rule_is_the_protocol_run():
    """GD is deterministic: a student stopped at STOP_TOL and continued to PROTOCOL_TOL is, step for
    step, the student trained to PROTOCOL_TOL directly (so the check compares the protocol itself)."""
    teacher = tl.Teacher.orthonormal(2, 10)
    objective = tl.Population(teacher)
    start = tl.Student.init(16, 10, 1e-3, child(np.random.SeedSequence(3), 0), balanced=True)
    direct = tl.train(start, objective, "gd", lr=0.5, steps=50_000, tol=PROTOCOL_TOL)
    stopped = tl.train(start, objective, "gd", lr=0.5, steps=50_000, tol=STOP_TOL)
    continued = tl.train(stopped.net, objective, "gd", lr=0.5, steps=50_000 - stopped.steps, tol=PROTOCOL_TOL)
    assert stopped.converged and continued.converged and stopped.steps < direct.steps
    assert stopped.steps + continued.steps == direct.steps
    np.testing.assert_allclose(continued.net.W, direct.net.W, rtol=0, atol=1e-13)
    np.testing.assert_allclose(continued.net.a, direct.net.a, rtol=0, atol=1e-13)


def test_a_checked_pair_records_both_barriers():
    cfg = WidthConfig(k=2, d=10, m=16, steps=50_000, tol=STOP_TOL, protocol_tol=PROTOCOL_TOL)
    out = run(cfg, np.random.SeedSequence(5))
    assert out["converged"] and out["steps_protocol"] > out["steps_run"]
    assert 0.5 < out["weights"] / out["weights_protocol"] < 2
    unchecked = run(WidthConfig(k=2, d=10, m=16, steps=50_000, tol=STOP_TOL), np.random.SeedSequence(5))
    assert unchecked["weights"] == out["weights"] and np.isnan(unchecked["weights_protocol"])


def test_stopping_rule_reads_the_exponent_shift_pair_by_pair():
    """Synthetic pairs whose ratio B_stop / B_protocol is exactly (m / 16)^0.1: the shift of the tail
    exponent is 0.1 with a degenerate interval; the median ratio and step fraction are read back."""
    m = np.repeat([8.0, 16.0, 64.0], 4)
    protocol = 1e-3 * m ** -1.3 * np.tile([1.0, 2.0, 0.5, 1.5], 3)
    ratio = (m / 16) ** 0.1
    table = pd.DataFrame({"k": np.full(m.size, 2.0), "d": np.full(m.size, 10.0), "m": m, "weights": protocol * ratio,
                          "weights_protocol": protocol, "steps_run": np.full(m.size, 250.0),
                          "steps_protocol": np.full(m.size, 1000.0)})
    got = stopping_rule(table)
    assert got["pairs"] == 12 and got["step_fraction_median"] == pytest.approx(0.25)
    assert got["ratio_median"] == pytest.approx(np.median(ratio))
    assert got["exponent_shift"] == pytest.approx(0.1) and got["exponent_shift_ci95"] == pytest.approx([0.1, 0.1])
    assert got["exponent_shift_by_d"][10]["shift"] == pytest.approx(0.1)
    assert got["within_10pc"] == pytest.approx(np.mean(np.abs(ratio - 1) <= 0.1))


def test_stopping_rule_without_checked_pairs_says_so():
    table = pd.DataFrame({"k": np.array([2.0]), "d": np.array([10.0]), "m": np.array([16.0]),
                          "weights": np.array([1e-4]), "weights_protocol": np.array([np.nan]),
                          "steps_run": np.array([1.0]), "steps_protocol": np.array([np.nan])})
    assert stopping_rule(table) == {"pairs": 0}


@pytest.mark.parametrize(("tol", "protocol_tol"), [(1e-7, 1e-7), (1e-7, 1e-6), (None, 1e-9), (1e-7, -1.0)])
def test_protocol_tol_must_lie_below_tol(tol, protocol_tol):
    with pytest.raises(ValueError, match="protocol_tol"):
        WidthConfig(tol=tol, protocol_tol=protocol_tol)


@pytest.mark.parametrize("profile", list(Profile))
def test_every_profile_stops_by_the_rule_above_k_and_checks_it(profile):
    """m <= k (the exact zero) trains to the protocol's loss, every wider pair stops at STOP_TOL, and
    the checked pairs (continued to the protocol) sit at widths above k."""
    cfgs = configs(profile)
    assert all(c.tol == (PROTOCOL_TOL if c.m <= c.k else STOP_TOL) for c in cfgs)
    checked = [c for c in cfgs if c.protocol_tol is not None]
    assert checked and all(c.m > c.k and c.protocol_tol == PROTOCOL_TOL for c in checked)
    if profile is not Profile.QUICK:
        assert {c.m for c in checked} == set(PROTOCOL_WIDTHS)
