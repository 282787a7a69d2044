"""``analyse`` of the real-data experiments, ``imp`` and ``lr_dynamics``, each on a small synthetic
table whose numbers are computed here by hand."""

import numpy as np
import pandas as pd
import pytest

from sims.table import frame


def test_real_depth_analysis_means_each_path_per_depth():
    from sims.experiments.real_depth import BARRIERS, analyse

    columns = {"depth": [1, 1, 2, 2, 2], "test_error": [0.1, 0.3, 0.2, 0.4, 0.6]}
    columns |= {c: [0.0, 2.0, 1.0, 2.0, 6.0] for c in BARRIERS}
    columns["weights_loss"] = [1.0, 3.0, np.nan, 4.0, 8.0]  # a failed barrier is left out of its mean
    got = analyse(frame([dict(zip(columns, row)) for row in zip(*columns.values())]), "toy data")
    assert list(got) == ["data", *(f"{c}_by_depth" for c in BARRIERS), "test_error_by_depth"]
    assert got["data"] == "toy data"
    assert got["plain_loss_by_depth"] == {1: pytest.approx(1.0), 2: pytest.approx(3.0)}
    assert got["weights_loss_by_depth"] == {1: pytest.approx(2.0), 2: pytest.approx(6.0)}
    assert got["test_error_by_depth"] == {1: pytest.approx(0.2), 2: pytest.approx(0.4)}


def test_real_width_analysis_fits_the_tail_above_the_median_width():
    from sims.experiments.real_width import analyse

    widths = np.repeat([8, 16, 32, 64, 128], 2)
    modp = 3.0 * widths ** -1.5  # the tail (widths >= 32, the median width) lies on a line of slope -1.5
    modp[-1] = 0.0  # a zero barrier is left out of the log-log fit
    table = pd.DataFrame({"width": widths, "test_error": np.arange(10) / 10, "modp_loss": modp})
    got = analyse(table, "toy data")
    assert got["data"] == "toy data" and got["method"] == "weights"
    assert got["pairs_by_width"] == {8: 2, 16: 2, 32: 2, 64: 2, 128: 2}
    assert got["test_error_by_width"] == {8: pytest.approx(0.05), 16: pytest.approx(0.25), 32: pytest.approx(0.45),
                                          64: pytest.approx(0.65), 128: pytest.approx(0.85)}
    assert got["modp_loss_tail_slope"] == pytest.approx(-1.5)
    assert got["modp_loss_tail_slope_ci95"] == (pytest.approx(-1.5), pytest.approx(-1.5))
    # a tail of one width has no slope
    assert "modp_loss_tail_slope" not in analyse(table[widths <= 16], "toy data")


def test_real_width_loss_axis_is_not_stretched_by_a_bar_reaching_zero():
    """A width whose pairs' s.e. equals their mean (lower bar at 1e-18) leaves the log axis to
    start a third below the smallest positive mean (the bar runs off it)."""
    import matplotlib.pyplot as plt

    from sims.experiments.real_width import analyse, plot

    widths = np.repeat([8, 16, 32, 64], 2)
    modp = np.array([0.2, 0.2, 0.1, 0.1, 0.05, 0.05, 0.02, 1e-18])  # m = 64: mean 0.01 = its s.e.
    table = pd.DataFrame({"width": widths, "test_error": np.full(8, 0.3), "modp_loss": modp,
                          "plain_loss": np.ones(8), "modp_error": np.full(8, 0.05), "plain_error": np.full(8, 0.2)})
    fig = plot(analyse(table, "toy data"), table)
    try:
        bottom = fig.axes[0].get_ylim()[0]
    finally:
        plt.close(fig)
    assert bottom == pytest.approx(0.01 / 3)


def test_real_conv_analysis_means_the_width_and_the_depth_sweep():
    from sims.experiments.real_conv import KINDS, METHODS, analyse

    # the ResNet-8 at multiplier 0.5 belongs to both sweeps
    columns = {"arch": ["vgg", "vgg", "vgg", "resnet", "resnet", "resnet", "resnet"],
               "multiplier": [0.25, 0.25, 0.5, 0.25, 0.5, 0.5, 0.5], "depth": [8, 8, 8, 8, 8, 8, 14],
               "test_error": [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9]}
    plain = np.array([1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 10.0])
    columns |= {f"{m}_{kind}": (j + 1) * plain for j, m in enumerate(METHODS) for kind in KINDS}
    got = analyse(frame([dict(zip(columns, row)) for row in zip(*columns.values())]), "toy data")
    assert got["data"] == "toy data"
    assert got["vgg_plain_loss_by_multiplier"] == {0.25: pytest.approx(2.0), 0.5: pytest.approx(5.0)}
    assert got["resnet_plain_loss_by_multiplier"] == {0.25: pytest.approx(2.0), 0.5: pytest.approx(5.0)}
    assert got["resnet_plain_error_by_depth"] == {8: pytest.approx(5.0), 14: pytest.approx(10.0)}
    assert got["resnet_activations_loss_by_depth"] == {8: pytest.approx(15.0), 14: pytest.approx(30.0)}
    assert got["vgg_weights_error_by_multiplier"] == {0.25: pytest.approx(4.0), 0.5: pytest.approx(10.0)}
    assert got["vgg_test_error_by_multiplier"] == {0.25: pytest.approx(0.15), 0.5: pytest.approx(0.3)}
    assert got["resnet_test_error_by_multiplier"] == {0.25: pytest.approx(0.4), 0.5: pytest.approx(0.6)}
    assert len(got) == 1 + 2 * (2 * 3 + 3) + 2  # data; per kind: per arch and path, per path by depth; test errors


def test_real_three_analysis_means_each_path_per_size_and_architecture():
    from sims.experiments.real_three import KEYS, analyse

    # listed VGG first: the keys still follow Architecture's order, and the absent ResNet has none
    columns = {"arch": ["vgg", "vgg", "mlp", "mlp", "mlp"], "size": [0.25, 0.25, 16.0, 16.0, 64.0]}
    via = np.array([0.5, 1.5, 2.0, 4.0, 7.0])
    columns |= {f"{k}_{kind}": (j + 1) * via for j, k in enumerate(KEYS) for kind in ("loss", "error")}
    got = analyse(frame([dict(zip(columns, row)) for row in zip(*columns.values())]), "toy data")
    assert list(got) == ["data", *(f"{arch}_{k}_{kind}_by_size" for arch in ("mlp", "vgg")
                                   for kind in ("loss", "error") for k in KEYS)]
    assert got["mlp_via_reference_loss_by_size"] == {16.0: pytest.approx(3.0), 64.0: pytest.approx(7.0)}
    assert got["mlp_plain_error_by_size"] == {16.0: pytest.approx(9.0), 64.0: pytest.approx(21.0)}
    assert got["vgg_direct_loss_by_size"] == {0.25: pytest.approx(2.0)}


def test_real_imp_analysis_averages_the_rounds_over_pairs():
    from sims.experiments.real_imp import KEYS, analyse

    def run(arch, remaining, dense_perm):  # path j's barriers: (j + 1) times the dense permutation's
        return {"arch": arch, "remaining": np.array(remaining)} | {
            f"{k}_{kind}": np.array(dense_perm) * (j + 1) for j, k in enumerate(KEYS) for kind in ("loss", "error")}

    table = frame([run("vgg", [1.0, 0.6], [0.1, 0.2]), run("mlp", [1.0, 0.6, 0.36], [0.0, 0.2, 0.4]),
                   run("mlp", [1.0, 0.5, 0.3], [0.2, 0.4, 1.0])])
    got = analyse(table, "toy data")
    curves = ("remaining_fraction", *(f"{k}_{kind}" for kind in ("loss", "error") for k in KEYS))
    assert list(got) == ["data", *(f"{arch}_{c}" for arch in ("mlp", "vgg") for c in curves)]
    assert got["mlp_remaining_fraction"] == pytest.approx([1.0, 0.55, 0.33])
    assert got["mlp_dense_perm_loss"] == pytest.approx([0.1, 0.3, 0.7])
    assert got["mlp_plain_error"] == pytest.approx([0.3, 0.9, 2.1])
    assert got["vgg_fresh_perm_loss"] == pytest.approx([0.2, 0.4])


def test_real_trajectory_analysis_reads_the_peak_and_the_end_of_the_mean_curve():
    from sims.experiments.real_trajectory import BARRIERS, analyse

    def run(arch, plain_loss):  # every other barrier: half the plain loss barrier
        return {"arch": arch} | {c: np.array(plain_loss) * (1.0 if c == "plain_loss" else 0.5) for c in BARRIERS}

    table = frame([run("mlp", [0.0, 2.0, 1.0]), run("mlp", [0.0, 4.0, 0.0]), run("resnet", [1.0, 3.0])])
    got = analyse(table, "toy data")
    assert list(got) == ["data", *(f"{arch}_{c}_{end}" for arch in ("mlp", "resnet") for c in BARRIERS
                                   for end in ("max", "final"))]
    assert got["mlp_plain_loss_max"] == pytest.approx(3.0)  # the mean curve is 0, 3, 0.5
    assert got["mlp_plain_loss_final"] == pytest.approx(0.5)
    assert got["mlp_fresh_perm_error_max"] == pytest.approx(1.5)
    assert got["resnet_final_perm_loss_final"] == pytest.approx(1.5)


def test_real_lr_analysis_finds_the_steepest_step_of_the_units():
    from sims.experiments.real_lr import analyse

    # mean units per rate: 100, 90, 20, 10, and none at 100 (every pair diverged)
    rates = [0.01, 0.1, 0.1, 1.0, 10.0, 100.0]
    units = [100.0, 80.0, 100.0, 20.0, 10.0, np.nan]
    got = analyse(pd.DataFrame({"lr": np.array(rates), "units": np.array(units), "barrier": np.zeros(6)}), "toy data")
    assert got["data"] == "toy data" and got["units_range"] == [10.0, 100.0]
    assert got["transition_lr"] == pytest.approx(np.sqrt(0.1 * 1.0))  # the step 90 -> 20, midway in log rate
    assert got["transition_sharpness"] == pytest.approx(70 / (10 + 70 + 10))
    # fewer than three rates with a mean: no transition
    fewer = pd.DataFrame({"lr": np.array(rates[3:]), "units": np.array(units[3:]), "barrier": np.zeros(3)})
    assert set(analyse(fewer, "toy data")) == {"data", "units_range"}


def test_imp_analysis_averages_each_round_over_pairs():
    from sims.experiments.imp import analyse

    def run(remaining, dense_perm):  # fresh matching: half the dense permutation's barrier; none: twice it
        d = np.array(dense_perm)
        return {"remaining": np.array(remaining), "dense_perm": d, "fresh_perm": d / 2, "plain": 2 * d,
                "loss": np.array([1e-9, 2e-9, 3e-9])}

    got = analyse(frame([run([1.0, 0.7, 0.5], [0.0, 1e-4, 3e-3]), run([1.0, 0.7, 0.4], [2e-6, 3e-4, 1e-3])]))
    assert list(got) == ["remaining_fraction", "dense_perm", "fresh_perm", "plain", "loss"]
    assert got["remaining_fraction"] == pytest.approx([1.0, 0.7, 0.45])
    assert got["dense_perm"] == pytest.approx([1e-6, 2e-4, 2e-3])
    assert got["fresh_perm"] == pytest.approx([5e-7, 1e-4, 1e-3])
    assert got["plain"] == pytest.approx([2e-6, 4e-4, 4e-3])
    assert got["loss"] == pytest.approx([1e-9, 2e-9, 3e-9])


def test_lr_dynamics_analysis_reads_each_trace_by_increasing_rate():
    from sims.experiments.lr_dynamics import analyse

    def run(lr_rel, eta, diverged, loss, sharpness, neff):  # per-student arrays: the first student is traced
        return {"lr_rel": lr_rel, "eta": np.array([eta, eta]), "diverged": np.array([diverged, False]),
                "trace_loss": np.array(loss), "trace_loss_step": np.arange(len(loss)) * 10.0,
                "trace_sharpness": np.array(sharpness), "trace_neff_rel": np.array(neff),
                "trace_step": np.array([1.0, 100.0])}

    table = frame([run(2.52, 0.4, 1.0, [1.0, 5.0, 1e3], [10.0, 30.0], [1.0, 0.9]),
                   run(0.5, 0.1, 0.0, [1.0, 3.0, 0.5, 1e-9], [4.0, 6.0], [1.0, 0.25])])
    got = analyse(table)
    assert list(got) == ["rate_unit", "lr_rel=0.5", "lr_rel=2.52"]
    assert got["lr_rel=0.5"] == {"diverged": False, "loss_initial": 1.0, "loss_peak": 3.0, "loss_peak_step": 10,
                                 "loss_final": 1e-9, "sharpness_x_eta_over_2_initial": pytest.approx(0.2),
                                 "sharpness_x_eta_over_2_final": pytest.approx(0.3), "neff_rel_initial": 1.0,
                                 "neff_rel_final": 0.25}
    fast = got["lr_rel=2.52"]
    assert fast["diverged"] is True and fast["loss_peak"] == 1e3 and fast["loss_peak_step"] == 20
    assert fast["sharpness_x_eta_over_2_final"] == pytest.approx(6.0)
