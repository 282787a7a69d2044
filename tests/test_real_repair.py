"""The real_repair experiment (sims/experiments/real_repair.py): its run's fields for a network with
and without BatchNorm, and the numbers its summary reports, on a planted table."""

import numpy as np
import pytest

from sims.experiments.real_repair import ARCHITECTURES, PATHS, analyse, configs, label, run
from sims.experiments.realdata import RealConfig
from sims.profile import Profile
from sims.table import frame


def test_profiles_name_every_architecture():
    for profile, (mlp, conv) in ((Profile.QUICK, (1, 1)), (Profile.PAPER, (4, 4))):
        cs = configs(profile)
        names = [label(c.arch, c.depth) for c in cs]
        assert set(names) == set(ARCHITECTURES)
        assert names.count("MLP 3x128") == mlp and names.count("ResNet-8") == conv


@pytest.mark.parametrize("arch,fields", [("mlp", {"width": 16}), ("vgg", {"multiplier": 0.125})])
def test_run_returns_every_path(arch, fields):
    out = run(RealConfig(arch=arch, steps=30, **fields), np.random.SeedSequence(2))
    assert out["batch_norm"] == (arch == "vgg")
    for path in PATHS:
        for kind in ("loss", "error"):
            value = out[f"{path}_{kind}"]
            if path == "weights_rescale" and arch == "vgg":
                assert np.isnan(value)  # RESCALE applies to networks without BatchNorm
            else:
                assert np.isfinite(value) and value >= -1e-12
    assert 0 <= out["test_error"] <= 1


def test_analyse_reports_medians_ranges_and_pairs():
    rows = []
    for r, (plain, weights, repaired) in enumerate([(1.0, 0.4, 0.1), (2.0, 0.6, 0.2), (3.0, 0.8, 0.6)]):
        rows.append({"arch": "mlp", "depth": 1, "replicate": r, "batch_norm": False, "test_error": 0.3,
                     "plain_loss": plain, "weights_loss": weights, "weights_repair_loss": repaired,
                     "weights_rescale_loss": repaired, "plain_error": 0.5, "weights_error": 0.2,
                     "weights_repair_error": 0.1, "weights_rescale_error": 0.1})
    rows.append({**rows[0], "arch": "vgg", "depth": 1, "batch_norm": True, "weights_rescale_loss": np.nan,
                 "weights_rescale_error": np.nan})
    fitted = analyse(frame(rows))
    mlp = fitted["MLP 1x128"]
    assert mlp["pairs"] == 3 and not mlp["batch_norm"]
    assert mlp["weights_loss"] == {"median": 0.6, "range": [0.4, 0.8]}
    assert mlp["weights_repair_loss"]["median"] == pytest.approx(0.2)
    assert mlp["repair_over_weights_loss_median"] == pytest.approx(np.median([0.25, 1 / 3, 0.75]))
    vgg = fitted["VGG + BN"]
    assert vgg["pairs"] == 1 and vgg["batch_norm"] and "weights_rescale_loss" not in vgg
