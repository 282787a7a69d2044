"""The regimes experiment and its linear-regime prediction (theory.lazy, docs/theory.md sec. 7)."""

import json
from pathlib import Path

import numpy as np
import pytest

import twolayer as tl
from sims.experiments.regimes import PROTOCOL_TOL, RegimeConfig, Scheme, configs
from sims.profile import Profile
from sims.registry import get
from sims.runner import sweep
from sims.store import Store
from sims.table import frame, from_results
from theory import fits
from theory.lazy import defect_barrier, lazy_curve

ROOT = Path(__file__).resolve().parents[1]


def test_interpolation_defect_identity_at_gd_minima():
    """At two exact minima R(theta_t) = 1/2 ||D_t||^2: the defect barrier of the aligned pair equals
    the measured barrier mod P (same permutation; the grid of 9 t values against the barrier's finer search)."""
    teacher = tl.Teacher.orthonormal(2, 5)
    objective = tl.Population(teacher)
    pair = []
    for seed in (1, 2):
        start = tl.Student.init(12, 5, init=tl.LeCunNormal(), seed=seed)
        pair.append(tl.train(start, objective, "gd", lr=2 * 0.5 / tl.sharpness(start, teacher), steps=100_000,
                             tol=1e-13).net)
    A, B = pair
    measured = tl.barrier_modulo_permutation(A, B, objective, method="weights").value
    aligned = tl.permute(B, tl.match(A, B, "weights").perms)
    assert measured > 1e-5
    assert defect_barrier(A, aligned, 5) == pytest.approx(measured, rel=0.02)


def test_lazy_prediction_slopes_follow_the_dimension():
    """B_lazy's Monte Carlo slope over m = 16 ... 64: steeper in low d for LeCun (heuristic -2/d), and
    about -1 - 4/(d+1) for mean-field (loose windows: the Monte Carlo is the prediction, the
    exponents heuristics)."""
    widths = [16, 32, 64]
    slope = {}
    for init, d in ((tl.LeCunNormal(), 5), (tl.LeCunNormal(), 30), (tl.MeanField(), 5)):
        c = lazy_curve(init, d, widths, n_pairs=12, seed=1)
        slope[(init.name, d)] = np.polyfit(np.log(widths), np.log(c.mean), 1)[0]
    assert -0.8 < slope[("lecun", 5)] < -0.1
    assert -0.3 < slope[("lecun", 30)] < 0.3
    assert slope[("lecun", 5)] < slope[("lecun", 30)]
    assert -2.4 < slope[("meanfield", 5)] < -1.1


def test_bad_config_values_name_the_field():
    with pytest.raises(ValueError, match="^init must be one of 'small', 'pytorch'"):
        RegimeConfig("xavier")
    with pytest.raises(ValueError, match="^lr_rel must be"):
        RegimeConfig(lr_rel=0.0)


def test_every_profile_has_every_scheme_and_a_protocol_sample():
    for profile in Profile:
        cs = configs(profile)
        assert {c.init for c in cs} == set(Scheme)
        assert any(c.tol <= PROTOCOL_TOL for c in cs)
        assert {c.d for c in cs} == {5, 10, 30}


@pytest.fixture(scope="module")
def meanfield_runs(tmp_path_factory):
    """A sweep of the real experiment through the runner: mean-field initialisation (the critical
    regime), d = 5, m = 8 and 32, 8 pairs each, lower rate, stopping rule at 1e-7."""
    cs = [RegimeConfig(Scheme.MEANFIELD, d=5, m=m, lr_rel=0.5, steps=100_000, replicate=r)
          for m in (8, 32) for r in range(8)]
    store = Store(tmp_path_factory.mktemp("regimes"))
    try:
        summary, results = sweep(get("regimes"), cs, store, seed=3, jobs=1, progress=False)
    finally:
        store.close()
    assert summary.failed == 0
    return from_results(results)


@pytest.mark.slow
def test_fit_on_real_output_of_the_critical_regime(meanfield_runs):
    """The barrier mod P of mean-field-initialised GD pairs falls with m at d = 5: the fitted slope's
    95% interval lies below 0 (a barrier that does not vanish with width is excluded), and the
    init-pair prediction's slope fitted by the same estimator to its single pairs over the same
    widths (-1.6 to -1.8 by Monte Carlo) is not excluded: the difference's interval contains 0."""
    ok = meanfield_runs[(meanfield_runs["converged"] > 0) & (meanfield_runs["weights"] > 1e-14)]
    assert len(ok) >= 10 and ok["m"].nunique() == 2
    fit = fits.loglog_slope(ok["m"], ok["weights"], seed=0)
    predicted = lazy_curve(tl.MeanField(), 5, [8, 32], n_pairs=20, seed=2)
    assert predicted.values.shape == (2, 20) and np.allclose(predicted.values.mean(axis=1), predicted.mean)
    predicted_fit = fits.loglog_slope(np.repeat([8, 32], 20), predicted.values.ravel(), seed=1)
    diff, (lo, hi) = fits.slope_difference(fit, predicted_fit)
    assert fit.ci[1] < 0, fit
    assert lo <= 0 <= hi, (fit, predicted_fit, diff, (lo, hi))


def test_committed_regimes_json_matches_its_csv():
    """Every tail exponent in figures/paper/regimes.json is the fit of the pairs in regimes.csv, and
    the mean-field cells' intervals, refitted from those pairs, lie below 0."""
    folder = ROOT / "figures" / "paper"
    if not (folder / "regimes.json").exists():
        pytest.skip("no paper-profile regimes figure committed")
    fitted = json.loads((folder / "regimes.json").read_text())
    import csv

    rows = list(csv.DictReader(open(folder / "regimes.csv")))
    checked = decreasing = 0
    for scheme, entry in fitted["schemes"].items():
        for key, cell in entry.items():
            if not key.startswith("d=") or "tail_slope" not in cell:
                continue
            d, rate = (float(part.split("=")[1]) for part in key.split())
            sel = [r for r in rows if r["init"] == scheme and float(r["d"]) == d and float(r["lr_rel"]) == rate
                   and float(r["tol"]) > PROTOCOL_TOL and float(r["converged"]) > 0
                   and float(r["m"]) >= 16 and float(r["weights"]) > 1e-14]
            m = np.array([float(r["m"]) for r in sel])
            b = np.array([float(r["weights"]) for r in sel])
            assert np.polyfit(np.log(m), np.log(b), 1)[0] == pytest.approx(cell["tail_slope"], rel=1e-6)
            if scheme == "meanfield" and rate == 0.5:
                # the critical regime's claim, refitted from the committed pairs: the barrier falls with m
                # at every d (the interval below 0 excludes "no decay")
                refit = fits.loglog_slope(m, b, seed=0)
                assert refit.ci == pytest.approx(cell["tail_slope_ci95"]) and refit.ci[1] < 0, (d, refit)
                decreasing += 1
            checked += 1
    assert checked >= 4 and decreasing == 3


def test_regimes_matching_analysis_on_a_synthetic_table():
    """Medians per width and ratios to weight matching, from a table whose answers are known."""
    from sims.experiments.regimes_matching import analyse

    columns = {"init": ["pytorch"] * 4 + ["small"] * 2, "m": [8, 8, 16, 16, 8, 8],
               "converged": [1.0, 1.0, 1.0, 0.0, 1.0, 1.0],
               "weights": [1e-3, 3e-3, 2e-4, 5.0, 1e-4, 0.0],
               "activations": [2e-3, 3e-3, 2e-4, 5.0, 1.05e-4, 1e-6],
               "refine": [1e-3, 1.5e-3, 1e-4, 5.0, 1e-4, 0.0]}
    table = frame([dict(zip(columns, row)) for row in zip(*columns.values())])
    got = analyse(table)["schemes"]
    pt = got["pytorch"]
    assert pt["pairs"] == 3 and pt["runs"] == 4  # the unconverged pair counted, not used
    assert pt["weights_median_by_m"] == {8: pytest.approx(2e-3), 16: pytest.approx(2e-4)}
    assert pt["activations_over_weights"]["median"] == pytest.approx(1.0)
    assert pt["activations_over_weights"]["range"] == [pytest.approx(1.0), pytest.approx(2.0)]
    assert pt["activations_over_weights"]["within_factor"] == "2/3"
    assert pt["refine_over_weights"]["within_factor"] == "1/3"
    sm = got["small"]  # a zero weight-matching barrier gives no ratio
    assert sm["activations_over_weights"] == {"median": pytest.approx(1.05), "range": [pytest.approx(1.05)] * 2,
                                              "within_factor": "1/1"}
