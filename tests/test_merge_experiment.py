"""The merge experiment (sims/experiments/merge.py): its run's fields and the numbers its summary
reports, on planted tables."""

import numpy as np
import pytest

from sims.experiments.merge import GROUP_SIZES, GROUPS, WIDTHS, MergeConfig, analyse, configs, run, sizes
from sims.profile import Profile
from sims.table import frame


def test_profiles_cover_every_width_with_their_groups():
    for profile, widths in ((Profile.QUICK, WIDTHS[:-1]), (Profile.PAPER, WIDTHS)):  # quick: up to m = 32
        cs = configs(profile)
        assert sorted({c.m for c in cs}) == list(widths)
        assert len(cs) == len(widths) * GROUPS[profile]
        assert all(sizes(c) == list(GROUP_SIZES) for c in cs)
    with pytest.raises(ValueError, match="^networks must be an integer >= 2"):
        MergeConfig(networks=1)


def test_run_scores_each_group_and_the_ensemble_is_below_the_members():
    out = run(MergeConfig(m=4, networks=4, steps=3000), np.random.SeedSequence(5))
    assert out["converged"] in (True, False)  # 3000 steps: not every student reaches tol
    for n in (2, 4):
        assert {f"{s}_{n}" for s in ("merged", "members", "ensemble", "sweeps")} <= out.keys()
        # the loss is convex in the output: the ensemble's loss is at most the members' mean
        assert out[f"ensemble_{n}"] <= out[f"members_{n}"] * (1 + 1e-9)
        assert out[f"merged_{n}"] >= 0 and out[f"sweeps_{n}"] >= 1
    assert "merged_8" not in out


def _planted(rng, groups=6, slope=-1.5):
    """merged = 0.2 m^slope times a lognormal factor per group; ensemble and members flat."""
    rows = []
    for m in (4, 8, 16, 32, 64):
        for r in range(groups):
            row = {"m": m, "replicate": r, "converged": True}
            for n in GROUP_SIZES:
                row |= {f"merged_{n}": 0.2 * n * m**slope * np.exp(0.05 * rng.standard_normal()),
                        f"ensemble_{n}": 5e-10 * (1 + 0.01 * r), f"members_{n}": 1e-9, f"sweeps_{n}": 2}
            rows.append(row)
    return frame(rows)


def test_analyse_recovers_a_planted_tail_slope_and_the_medians():
    table = _planted(np.random.default_rng(0))
    fitted = analyse(table)
    for n in GROUP_SIZES:
        tail = fitted[f"N={n}"]["merged_tail"]
        assert tail["tail_widths"] == [16, 32, 64]
        assert tail["tail_slope"] == pytest.approx(-1.5, abs=0.05)
        assert tail["tail_slope_ci95"][0] < -1.5 < tail["tail_slope_ci95"][1]
        cell = fitted[f"N={n}"]["by_m"][16]
        assert cell["members"]["median"] == pytest.approx(1e-9)
        assert cell["ensemble"]["median"] == pytest.approx(np.median(5e-10 * (1 + 0.01 * np.arange(6))))
        assert cell["merged"]["groups"] == 6 and cell["merged_above_ensemble_ci"]
        lo, hi = cell["merged"]["ci95"]
        assert lo <= cell["merged"]["median"] <= hi
        assert cell["merged_over_ensemble"]["median"] == pytest.approx(
            np.median(np.asarray(table[table["m"] == 16][f"merged_{n}"])
                      / np.asarray(table[table["m"] == 16][f"ensemble_{n}"])))
