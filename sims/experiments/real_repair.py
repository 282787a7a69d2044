"""real_repair: what REPAIR does to the barriers of networks trained on real data (MNIST-1D).

Pairs of networks by the protocol of the real-data experiments (``realdata``: SGD with momentum
on the training set, barriers on the test set over an 11-point grid refined by Brent's method):
a one-hidden-layer MLP and a three-hidden-layer MLP (width 128), the small VGG without BatchNorm
and with it (channels x 0.5), and the ResNet-8 (channels x 0.5; BatchNorm). Per pair, the loss
and error barriers of four paths:

- ``plain``: no alignment;
- ``weights``: B aligned by weight matching;
- ``weights_repair``: the aligned path with REPAIR (``twolayer.repair``, data form: each unit's
  pre-activation mean and spread reset to the interpolation of the endpoints', measured on the
  first ``BN_ROWS`` training rows). Networks with BatchNorm are given Jordan et al.'s remedy for
  them instead, their BatchNorm statistics recomputed on the same rows;
- ``weights_rescale``: the aligned path with RESCALE (spread only; networks without BatchNorm).

The uncorrected paths (``plain``, ``weights``) of networks with BatchNorm keep the interpolated
running statistics, so that for every architecture the correction is the one difference between
``weights`` and ``weights_repair``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import METHOD_COLOURS, REAL_BARRIER_LINEAR, FigureDir, barrier_axis, figure, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from .realdata import (
    GRID,
    RealConfig,
    barrier_kwargs,
    conv_fields,
    data_label,
    dataset,
    mlp_fields,
    pairs,
    test_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

#: the paths of a pair, in the figure's order, with their legend labels
PATHS = {"plain": "no alignment", "weights": "weight matching",
         "weights_repair": "+ REPAIR (BatchNorm nets: statistics recomputed)", "weights_rescale": "+ RESCALE"}
KINDS = ("loss", "error")
#: no alignment grey and weight matching as in every figure (``common.METHOD_COLOURS``); the two
#: corrections in colours no other figure uses
PATH_COLOURS = {"plain": METHOD_COLOURS["plain"], "weights": METHOD_COLOURS["weights"],
                "weights_repair": "darkgreen", "weights_rescale": "darkred"}
#: steps of SGD for the convolutional networks (as ``real_conv``)
CONV_STEPS = 600
#: the architectures: (label, config fields); the convolutional ones train CONV_STEPS steps
#: (``realdata.conv_fields``: fewer, in float32, in the quick profile)
ARCHITECTURES = {
    "MLP 1x128": {"arch": "mlp", "width": 128, "depth": 1},
    "MLP 3x128": {"arch": "mlp", "width": 128, "depth": 3},
    "VGG, no BN": {"arch": "vgg_nobn", "multiplier": 0.5},
    "VGG + BN": {"arch": "vgg", "multiplier": 0.5},
    "ResNet-8": {"arch": "resnet", "depth": 8, "multiplier": 0.5},
}
#: pairs per architecture: (MLPs, convolutional networks). Measured cost of a pair (one core):
#: MLP 1x128 ~3 s, MLP 3x128 ~10-17 s, VGG + BN ~33 s, ResNet-8 ~40 s, VGG without BN ~45 s (its
#: two repaired barriers measure statistics layer by layer); the paper profile: ~8 min of one core
PAIRS = {Profile.QUICK: (1, 1), Profile.PAPER: (4, 4), Profile.FULL: (4, 4)}  # full is the paper profile here


def conv_multiplier(profile: Profile) -> dict:
    """The convolutional networks' channel multiplier: 0.5 (paper, full); 0.25 in the quick profile
    (in float32, 200 steps: VGG without BN 9 s instead of 19 s a pair; VGG + BN and ResNet-8 at
    22 % test error instead of 12 %; the VGG without BN at chance either way, 91 % and 72 %)."""
    match profile:
        case Profile.QUICK:
            return {"multiplier": 0.25}
        case Profile.PAPER | Profile.FULL:
            return {}
        case _:
            unknown(profile)


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK | Profile.PAPER | Profile.FULL:
            mlp_pairs, conv_pairs = PAIRS[profile]
        case _:
            unknown(profile)
    conv = conv_fields(profile, CONV_STEPS) | conv_multiplier(profile)
    out = [RealConfig(replicate=r, **(fields | (mlp_fields(profile) if fields["arch"] == "mlp" else conv)))
           for fields in ARCHITECTURES.values() for r in range(mlp_pairs if fields["arch"] == "mlp" else conv_pairs)]
    return sorted(out, key=lambda c: c.arch == "mlp")  # the convolutional (longest) runs first


def label(arch: str, depth: int) -> str:
    """The architecture label of ARCHITECTURES for a run's ``arch`` and ``depth``."""
    return next(name for name, f in ARCHITECTURES.items()
                if f["arch"] == arch and f.get("depth", depth) == depth)


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    test = test_objective(data)
    rows = barrier_kwargs(data, cfg.bn_rows)["recompute_bn"]
    batch_norm = A.has_batch_norm
    aligned = tl.permute(B, tl.match(A, B, "weights").perms)
    uncorrected = {"ts": GRID, "recompute_bn": False}
    results = {"plain": tl.barrier(A, B, test, **uncorrected), "weights": tl.barrier(A, aligned, test, **uncorrected)}
    if batch_norm:
        results["weights_repair"] = tl.barrier(A, aligned, test, ts=GRID, recompute_bn=rows)
    else:
        for mode in ("repair", "rescale"):
            results[f"weights_{mode}"] = tl.barrier(A, aligned, test, ts=GRID, recompute_bn=rows, repair=mode)
    out = {"test_error": 0.5 * (test.error(A) + test.error(B)), "batch_norm": batch_norm}
    for path in PATHS:
        res = results.get(path)
        out[f"{path}_loss"] = np.nan if res is None else res.value
        out[f"{path}_error"] = np.nan if res is None else res.error.value
    return out


def analyse(table: pd.DataFrame) -> dict:
    """Per architecture: pairs, mean test error, and per path and kind the median and range of
    the barrier over the pairs; the median over pairs of the corrected / weights barrier."""
    out = {}
    labels = [label(a, int(d)) for a, d in zip(table["arch"], table["depth"])]
    for name in ARCHITECTURES:
        rows = table[np.array([lab == name for lab in labels], dtype=bool)]
        if not len(rows):
            continue
        cell: dict = {"pairs": len(rows), "test_error": float(np.mean(rows["test_error"].to_numpy())),
                      "batch_norm": bool(rows["batch_norm"].iloc[0])}
        for path in PATHS:
            for kind in KINDS:
                v = np.asarray(rows[f"{path}_{kind}"], float)
                if np.isfinite(v).any():
                    v = v[np.isfinite(v)]
                    cell[f"{path}_{kind}"] = {"median": float(np.median(v)), "range": [float(v.min()), float(v.max())]}
        for kind in KINDS:
            ratio = np.asarray(rows[f"weights_repair_{kind}"], float) / np.asarray(rows[f"weights_{kind}"], float)
            cell[f"repair_over_weights_{kind}_median"] = float(np.median(ratio))
        out[name] = cell
    return out


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    per_arch = analyse(table)
    fitted = {"data": data_label(table), "architectures": per_arch}
    fig, axes = figure(2, width=6.2, height=4.2)
    labels = [label(a, int(d)) for a, d in zip(table["arch"], table["depth"])]
    names = list(per_arch)
    offsets = np.linspace(-0.3, 0.3, len(PATHS))
    for ax, kind in zip(axes, KINDS):
        for j, path in enumerate(PATHS):
            legend = PATHS[path]  # on the first architecture that has the path
            for i, name in enumerate(names):
                rows = table[np.array([lab == name for lab in labels], dtype=bool)]
                v = np.asarray(rows[f"{path}_{kind}"], float)
                v = v[np.isfinite(v)]
                if not v.size:
                    continue
                x = i + offsets[j]
                ax.plot(np.full(v.size, x), v, "o", ms=3, color=PATH_COLOURS[path], alpha=0.55, mec="none")
                ax.plot([x - 0.07, x + 0.07], [np.median(v)] * 2, color=PATH_COLOURS[path], lw=2.2, label=legend)
                legend = None
        ticks = [f"{n}\n{pairs(c['pairs'])}\ntest error {c['test_error']:.2f}" for n, c in per_arch.items()]
        ax.set_xticks(range(len(names)), ticks, fontsize=7)
        for i in range(1, len(names)):
            ax.axvline(i - 0.5, color="0.85", lw=0.8)
        if kind == "loss":
            ax.set_ylabel("loss barrier (test cross-entropy)")
            barrier_axis(ax, [table[f"{p}_loss"].to_numpy() for p in PATHS], REAL_BARRIER_LINEAR)
        else:
            ax.set(ylabel="error barrier (test, fraction)", ylim=(min(0.0, ax.get_ylim()[0]), None))
    most = max(c["pairs"] for c in per_arch.values())
    axes[0].set_title(f"REPAIR on {fitted['data']}: loss barriers\n(dots: pairs; bars: medians; "
                      f"up to {pairs(most)} per architecture)", fontsize=9)
    axes[1].set_title("Error barriers (BatchNorm nets: uncorrected paths keep the\ninterpolated statistics; "
                      "the correction recomputes them)", fontsize=9)
    axes[1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    keys = ("arch", "depth", "multiplier", "replicate", "batch_norm", "test_error",
            *(f"{p}_{k}" for p in PATHS for k in KINDS))
    return save(fig, "real_repair", out, table[list(keys)].to_dict("list"), fitted)


EXPERIMENT = Experiment("real_repair", "REPAIR on real data (MNIST-1D): barriers of MLPs, VGG with and without "
                        "BatchNorm and ResNet-8 with no alignment, weight matching, + REPAIR, + RESCALE",
                        configs, run, summarize, order=175)
