"""docs/theory.md's numbers that cite a figure are read back from the paper profile's JSON.

Each check builds the fragment the page must contain from ``figures/paper/<name>.json`` (rounded
as the page rounds it) and looks for it in the page, so a check fails when the JSON changes or the
sentence drifts. The measured table of section 4b is rendered row by row from ``lr.json``. A few
qualitative statements read from a figure's CSV (no number stated) are checked against the CSV.
"""

import csv
import json
import math
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "figures" / "paper"
TEXT = re.sub(r"\s+", " ", (ROOT / "docs" / "theory.md").read_text())


@cache
def fig(name: str) -> dict:
    return json.loads((PAPER / f"{name}.json").read_text())


@cache
def rows(name: str) -> tuple[dict, ...]:
    with open(PAPER / f"{name}.csv", newline="") as f:
        return tuple(csv.DictReader(f))


def f1(x: float) -> str:
    return f"{x:.1f}"


def f2(x: float) -> str:
    return f"{x:.2f}"


def g2(x: float) -> str:
    """Two significant figures, trailing zeros kept (0.030, 2.0, 42)."""
    return f"{x:#.2g}".rstrip(".")


def span(values, fmt) -> str:
    return f"{fmt(min(values))}–{fmt(max(values))}"


def median(values) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


# --- section 4b: the cells of the measured table, in its order --------------------------------

#: table label -> lr.json cell
LR_ROWS = {
    "gd m = 16": "gd m=16 s=1 unbalanced",
    "gd m = 32": "gd m=32 s=1 unbalanced",
    "gd m = 64": "gd m=64 s=1 unbalanced",
    "gd m = 128": "gd m=128 s=1 unbalanced",
    "gd m = 32, balanced": "gd m=32 s=1 balanced",
    "gd m = 32, s = 2": "gd m=32 s=2 unbalanced",
    "gd m = 32, s = 2, balanced": "gd m=32 s=2 balanced",
    "gd m = 32, s = 0.3, balanced": "gd m=32 s=0.3 balanced",
    "online SGD (B = 32) m = 32": "online m=32 s=1 unbalanced",
}
#: the GD cells at s >= 1 (inside the predicted window)
GD = [c for c in LR_ROWS.values() if c.startswith("gd") and "s=0.3" not in c]
ONLINE = "online m=32 s=1 unbalanced"
S1_WIDTHS = [f"gd m={m} s=1 unbalanced" for m in (16, 32, 64, 128)]
SMALL = [f"gd m=32 s={s} {b}" for s in ("0.001", "0.01", "0.1") for b in ("unbalanced", "balanced")]


def lr(cell: str) -> dict:
    return fig("lr")[cell]


def tr(cell: str) -> dict:
    return lr(cell)["transition"]


def interval(lo, hi, fmt=f2) -> str:
    return f"[{fmt(lo)}, {'unbounded' if hi is None else fmt(hi)}]"


def lr_row(label: str) -> str:
    """One row of the measured table, as the page prints it."""
    c, t = lr(LR_ROWS[label]), tr(LR_ROWS[label])
    cells = [label,
             f"{f2(t['location'])} {interval(*t['location_ci95'])}",
             f"{f2(t['width_octaves'])} {interval(*t['width_ci95'])}",
             t["curves_crossed"],
             f"{f2(t['neff_rel_below'])} → {f2(t['neff_rel_above'])}",
             f"{f2(t['aligned_mass_below'])} → {f2(t['aligned_mass_above'])}",
             f"{g2(t['barrier_modp_below'])} → {g2(t['barrier_modp_above'])} ({g2(t['barrier_modp_ratio'])})",
             g2(t["barrier_plain_ratio"]),
             f"{f2(c['theory_start'])} / {f2(c['theory_catapult'])}",
             f2(c["diverges_from"])]
    return "| " + " | ".join(cells) + " |"


def test_the_measured_lr_table_is_the_paper_json():
    page = (ROOT / "docs" / "theory.md").read_text().splitlines()
    start = next(i for i, line in enumerate(page) if line.startswith("| cell (s = 1 unless stated)"))
    body = [line for line in page[start + 2:start + 2 + len(LR_ROWS)]]
    assert body == [lr_row(label) for label in LR_ROWS]
    assert sorted(fig("lr")["cells_with_transition"]) == sorted(LR_ROWS.values())


def test_the_lr_table_states_its_design():
    seeds = {c: lr(c)["seeds"] for c in LR_ROWS.values()}
    many, few = max(seeds.values()), min(seeds.values())
    assert {c for c, s in seeds.items() if s == few} == {
        "gd m=32 s=1 balanced", "gd m=32 s=2 unbalanced", "gd m=32 s=2 balanced", "gd m=32 s=0.3 balanced"}
    assert f"median over {many} curves ({many // 2} pairs of initialisations" in TEXT
    assert f"have {few // 2} pairs of initialisations, the others {many // 2}" in TEXT
    assert f"on a grid of 1/{round(1 / fig('lr')['grid_octaves'])} octave" in TEXT


def _lr_fragments():
    def factor(cell, key):  # how many times smaller above the transition than below
        t = tr(cell)
        return t[f"{key}_below"] / t[f"{key}_above"]

    def octaves(cell):
        return math.log2(tr(cell)["location"] / lr(cell)["theory_start"])

    dyn = fig("lr_dynamics")
    d126, d159, d2 = dyn["lr_rel=1.26"], dyn["lr_rel=1.59"], dyn["lr_rel=2"]
    closest = min(GD + [ONLINE], key=lambda c: lr(c)["theory_catapult"] - tr(c)["location_ci95"][1])
    assert closest == "gd m=32 s=2 unbalanced"  # the page names it
    yield "window at s = 1", (
        f"start ≈ {span([lr(c)['theory_start'] for c in S1_WIDTHS], f2)} and catapult edge ≈ "
        f"{span([lr(c)['theory_catapult'] for c in S1_WIDTHS], f2)} for m = 16…128; end ≈ "
        f"{span([lr(c)['theory_end'] for c in S1_WIDTHS], f1)}")
    yield "window at small s", (
        f"start above {math.floor(min(lr(c)['theory_start'] for c in SMALL))}, end ≈ "
        f"{span([lr(c)['theory_end'] for c in SMALL], f2)}")
    fz, mf = lr("frozen m=32 s=1 unbalanced"), lr("meanfield m=32 s=1 unbalanced")
    yield "window frozen", f"start {f2(fz['theory_start'])} > end {f2(fz['theory_end'])}"
    yield "window mean-field", f"start {f2(mf['theory_start'])} > end {f2(mf['theory_end'])}"
    yield "sparsity factor", (
        f"is lower above than below by a factor {span([factor(c, 'neff_rel') for c in GD], g2)} "
        f"(online SGD {g2(factor(ONLINE, 'neff_rel'))}), each curve's drop takes "
        f"{span([tr(c)['width_octaves'] for c in GD], f2)} octaves of the rate "
        f"(online SGD {f2(tr(ONLINE)['width_octaves'])})")
    yield "aligned mass", (
        f"aligned mass {span([tr(c)['aligned_mass_below'] for c in GD], f2)} → "
        f"{span([tr(c)['aligned_mass_above'] for c in GD], f2)}; online SGD "
        f"{f2(tr(ONLINE)['aligned_mass_below'])} → {f2(tr(ONLINE)['aligned_mass_above'])}")
    yield "barrier factors", (
        f"falls by a factor {span([factor(c, 'barrier_modp') for c in GD], g2)} for GD "
        f"({g2(factor(ONLINE, 'barrier_modp'))} for online SGD) while the plain barrier falls by "
        f"{span([factor(c, 'barrier_plain') for c in GD], g2)} ({g2(factor(ONLINE, 'barrier_plain'))})")
    yield "closest to the edge", (
        f"upper end {tr(closest)['location_ci95'][1]:.3f} against an edge of {lr(closest)['theory_catapult']:.3f}")
    yield "midpoints", (
        f"the GD midpoints sit at {span([tr(c)['location'] for c in GD], f2)}, "
        f"{span([octaves(c) for c in GD], f2)} octave above start (online SGD's at {f2(tr(ONLINE)['location'])})")
    yield "dynamics no spike", (
        f"at η_rel = 1.26 GD does not keep the lazy solution either — the sharpness falls below 2/η along "
        f"training without a loss spike (η λ_max/2 from {f2(d126['sharpness_x_eta_over_2_initial'])} to "
        f"{f2(d126['sharpness_x_eta_over_2_final'])}")
    yield "dynamics dense", f"stays dense (N_eff/m {f2(d126['neff_rel_final'])},"
    yield "dynamics spike 1.59", (
        f"η_rel = 1.59: ×{f1(d159['loss_peak'] / d159['loss_initial'])} at step {d159['loss_peak_step']}")
    yield "dynamics spike 2", (
        f"η_rel = 2: ×{f1(d2['loss_peak'] / d2['loss_initial'])} at step {d2['loss_peak_step']}")
    yield "dynamics 1.59 partial", (
        f"N_eff/m {f2(d159['neff_rel_initial'])} → {f2(d159['neff_rel_final'])}, at a rate just below the "
        f"m = 64 interval {interval(*tr('gd m=64 s=1 unbalanced')['location_ci95'])}")
    yield "dynamics 2 sparse", f"(N_eff/m {f2(d2['neff_rel_initial'])} → {f2(d2['neff_rel_final'])})"
    yield "divergence", (
        f"most runs diverge from {span([lr(c)['diverges_from'] for c in GD], f2)} against edges of "
        f"{span([lr(c)['theory_catapult'] for c in GD], f2)}")
    yield "divergence online", (
        f"Online SGD diverges from {f2(lr(ONLINE)['diverges_from'])}, just below its edge of "
        f"{f2(lr(ONLINE)['theory_catapult'])}")
    odd = tr("gd m=32 s=0.3 balanced")
    yield "s = 0.3 exception", (
        f"only {odd['curves_crossed'].replace('/', ' of ')} curves crossing, its aligned mass falling to "
        f"{odd['aligned_mass_above']:g} and its barrier mod P *rising* {g2(odd['barrier_modp_ratio'])}-fold")
    yield "small s flat", f"N_eff/m ≈ {span([lr(c)['neff_rel_smallest_rate'] for c in SMALL], f2)} at the smallest rate"
    yield "small s end", (
        f"near `end` ({span([lr(c)['theory_end'] for c in SMALL], f2)}) and diverges from "
        f"{span([lr(c)['diverges_from'] for c in SMALL], f1)}")
    yield "frozen", (
        f"diverge from η_rel = {f1(fz['diverges_from'])} without sparsifying (predicted: no stable minimum above "
        f"{f2(fz['theory_end'])})")
    yield "mean-field", f"(no transition; diverges from {f2(mf['diverges_from'])})"
    yield "settles", (
        f"N_eff/m ends at {f2(dyn['lr_rel=0.5']['neff_rel_final'])} (η_rel = 0.5) and "
        f"{f2(d2['neff_rel_final'])} (η_rel = 2)")


@pytest.mark.parametrize("name, fragment", list(_lr_fragments()), ids=[n for n, _ in _lr_fragments()])
def test_section_4b_states_the_paper_lr_json(name, fragment):
    assert fragment in TEXT


def test_section_4b_qualitative_statements_hold_in_the_paper_json():
    L = fig("lr")
    for c in GD + [ONLINE]:  # every interval inside [start, catapult edge]
        lo, hi = tr(c)["location_ci95"]
        assert L[c]["theory_start"] < lo and hi is not None and hi < L[c]["theory_catapult"], c
    for c in GD:  # GD diverges beyond the catapult edge, online SGD before it
        assert L[c]["diverges_from"] > L[c]["theory_catapult"], c
    assert L[ONLINE]["diverges_from"] < L[ONLINE]["theory_catapult"]
    for c in SMALL + [f"gd m=32 s=0.3 {b}" for b in ("unbalanced", "balanced")] + [
            "frozen m=32 s=1 unbalanced", "meanfield m=32 s=1 unbalanced"]:
        assert not L[c]["theory_transition"], c  # window empty
    for c in SMALL + ["gd m=32 s=0.3 unbalanced", "frozen m=32 s=1 unbalanced", "meanfield m=32 s=1 unbalanced"]:
        assert L[c]["transition"] is None, c
    odd = tr("gd m=32 s=0.3 balanced")
    assert odd["location_ci95"][1] is None and odd["barrier_modp_ratio"] > 1
    assert odd["aligned_mass_above"] < odd["aligned_mass_below"]
    dyn = fig("lr_dynamics")
    assert dyn["lr_rel=1.26"]["loss_peak"] == dyn["lr_rel=1.26"]["loss_initial"]  # no spike
    rates = [k for k in dyn if k.startswith("lr_rel=")]
    assert [k for k in rates if dyn[k]["diverged"]] == ["lr_rel=2.52"]


def test_section_4b_statements_read_from_the_csvs_hold():
    """No number stated: the dense solution's sharpness against the lazy one, the refined limit
    against the measured interval, and the sparsity settling by the lr runs' budget."""
    cells = {}
    low = min(float(r["lr_rel"]) for r in rows("lr"))
    for r in rows("lr"):
        if float(r["lr_rel"]) == low and r["variant"] == "gd" and float(r["init_scale"]) >= 1:
            balance = "balanced" if r["balanced"] == "True" else "unbalanced"
            cell = f"gd m={r['m']} s={float(r['init_scale']):g} {balance}"
            cells.setdefault(cell, []).append(r)
    assert sorted(cells) == sorted(GD)
    where = {}
    for c, rs in cells.items():
        assert median([float(r["lam_final"]) / float(r["lam_lazy"]) for r in rs]) < 1, c  # flatter than lazy
        refined = median([float(r["lam_init"]) / float(r["lam_final"]) for r in rs])
        assert refined > lr(c)["theory_start"], c  # later than the lazy start
        location = tr(c)["location"]  # and closer to the measured midpoint than it
        assert abs(refined - location) < abs(lr(c)["theory_start"] - location), c
        lo, hi = tr(c)["location_ci95"]
        where[c] = "below" if refined < lo else "above" if refined > hi else "inside"
    assert where == {**{c: "below" for c in S1_WIDTHS + ["gd m=32 s=2 unbalanced"]},
                     "gd m=32 s=1 balanced": "above", "gd m=32 s=2 balanced": "inside"}
    trace = {}
    for r in rows("lr_dynamics"):
        trace.setdefault(float(r["lr_rel"]), []).append((float(r["trace_step"]), float(r["trace_neff_rel"])))
    for rate in (0.5, 2.0):
        points = trace[rate]
        at_budget = min(points, key=lambda p: abs(p[0] - 20_000))[1]
        assert abs(at_budget - points[-1][1]) < 0.01 and points[-1][0] == 100_000, rate


# --- sections 2, 3, 5, 7 ---------------------------------------------------------------------

def _other_fragments():
    W = fig("width")["k=2"]
    nf = {int(m): v for m, v in W["theory_numerical_fraction_by_m"].items()}
    first_zero = min(m for m in nf if all(nf[n] == 0 for n in nf if n >= m))
    pct = lambda x: f"{round(100 * x)}"  # noqa: E731
    small, mid = [nf[m] for m in nf if 3 <= m <= 12], [nf[m] for m in nf if 16 <= m < first_zero]
    assert min(mid) > 0
    yield "numerical fraction", (
        f"they are {pct(min(small))}–{pct(max(small))}% of the sampled pairs at 3 ≤ m ≤ 12, "
        f"{pct(min(mid))}–{pct(max(mid))}% at m = 16 … {max(m for m in nf if m < first_zero)} and none from "
        f"m = {first_zero} on")
    yield "theory peak", f"near m ≈ {round(W['theory_peak_m'])}"
    yield "C_2", f"C_2 = {W['theory_constant']:.4f}"
    yield "Monte Carlo at 128", f"m·E[B]/C_2 ≈ {f2(128 * W['theory_by_m']['128'] / W['theory_constant'])}"
    yield "inactive fraction", f"inactive fraction r = {f2(W['fitted_r'])} in the tail"
    half = [(hi - lo) / 2 for lo, hi in W["gd_slope_ci95_by_d"].values()]
    pooled = (W["gd_slope_ci95"][1] - W["gd_slope_ci95"][0]) / 2
    yield "half-widths", f"measures ±{span(half, f2)} per d and ±{g2(pooled)} pooled"
    rule = W["stopping_rule"]
    by_d = rule["exponent_shift_by_d"]

    def shift(value, ci):  # as the page writes a shift and its interval
        return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]".replace("-", "−")

    yield "stopping rule pooled", f"pooled {shift(rule['exponent_shift'], rule['exponent_shift_ci95'])}"
    yield "stopping rule per d", (
        f"per d {shift(by_d['10']['shift'], by_d['10']['ci95'])} (d = 10), "
        f"{shift(by_d['30']['shift'], by_d['30']['ci95'])} (d = 30) and "
        f"{shift(by_d['100']['shift'], by_d['100']['ci95'])} (d = 100)")
    # "at d = 30 and 100 a shift that is not zero, but within the slope's own interval"
    assert by_d["30"]["ci95"][0] > 0 and by_d["100"]["ci95"][0] > 0 and by_d["10"]["ci95"][0] < 0
    assert all(abs(x) < pooled for v in by_d.values() for x in v["ci95"])  # within the slope's own interval
    n, N = fig("width_frozen")["M=2, frozen"]["zeros_global_pairs_by_ratio"]["2.0"].split("/")
    yield "frozen 2M", f"zero barrier at 2M in {n} of {N} pairs"
    ws = fig("wasserstein")
    assert ws["bound_holds"]
    yield "transport bound", f"loose by a median factor of {round(ws['median_bound_over_barrier'])}"


@pytest.mark.parametrize("name, fragment", list(_other_fragments()), ids=[n for n, _ in _other_fragments()])
def test_sections_2_3_5_state_the_paper_json(name, fragment):
    assert fragment in TEXT


def test_qualitative_statements_of_sections_3_5_7_hold():
    ws = fig("wasserstein")  # section 5: W2 grows with m, no interval contains the i.i.d. rate -1/2
    assert ws["predicted_w2_exponent"] == -0.5 and ws["theory_rate_inside_intervals"] == "0/3"
    assert 0.9 < ws["participation_dimension"] < 1.2  # "close to one"
    for key in ("w2_teacher_slope_ci95", "w2_pair_slope_ci95"):
        assert ws[key][0] > 0, key
    pt = fig("regimes")["schemes"]["pytorch"]["prediction"]  # section 7
    slopes = [pt[d]["slope"] for d in ("5", "10", "30")]
    assert slopes == sorted(slopes) and slopes[2] > 0 and pt["30"]["slope_ci95"][0] > -2 / 30
    per_d = {}  # section 3: the participation ratio at m = 128 grows with d
    for r in rows("width"):
        if r["k"] == "2" and r["m"] == "128":
            per_d.setdefault(int(r["d"]), []).append(float(r["neff"]))
    medians = [median(per_d[d]) for d in sorted(per_d)]
    assert medians == sorted(medians)


def test_the_page_cites_no_quick_profile_figure():
    assert not re.search(r"figures/(?!paper/)\w+\.(json|csv|png)", TEXT)
    assert "quick profile" not in TEXT
