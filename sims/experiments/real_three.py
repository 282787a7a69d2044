"""real_three: three-network alignment on real data (Sharma et al. 2024's strong-LMC evidence) for
the one-hidden-layer MLP, the VGG-style and the ResNet-style network: the barrier between B and C
after aligning each to a reference A (weight matching), against aligning C to B directly and
against no alignment, versus the width; loss and error barriers on the test set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import REAL_BARRIER_LINEAR, FigureDir, barrier_axis, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats
from .realdata import (
    BARRIER_LABEL,
    KINDS,
    SIZE_LABEL,
    RealConfig,
    architectures,
    barrier_kwargs,
    conv_fields,
    data_label,
    dataset,
    errorbar_means,
    means_by,
    mlp_fields,
    pairs,
    size_column,
    test_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

KEYS = ("via_reference", "direct", "plain")


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            widths, reps, conv_reps, multipliers = (16, 64, 256), 1, 1, (0.125, 0.25)
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, reps, conv_reps, multipliers = (16, 64, 256, 1024), 4, 2, (0.25, 0.5)
        case _:
            unknown(profile)
    conv = conv_fields(profile, 600)
    return ([RealConfig(width=w, replicate=r, **mlp_fields(profile)) for w in widths for r in range(reps)]
            + [RealConfig(arch=arch, multiplier=w, depth=8, replicate=r, **conv)
               for arch in ("vgg", "resnet") for w in multipliers for r in range(conv_reps)])


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B, C = (r.net for r in train_pair(cfg, data, seq, count=3))
    test, options = test_objective(data), barrier_kwargs(data, cfg.bn_rows)
    B_to_A = tl.permute(B, tl.match(A, B).perms)
    C_to_A = tl.permute(C, tl.match(A, C).perms)
    out = {}
    for key, res in (("via_reference", tl.barrier(B_to_A, C_to_A, test, **options)),
                     ("direct", tl.barrier_modulo_permutation(B, C, test, **options)),
                     ("plain", tl.barrier(B, C, test, **options))):
        out[f"{key}_loss"], out[f"{key}_error"] = res.value, res.error.value
    return out


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); per architecture, kind of barrier and
    path (``KEYS``), the barrier's mean over the pairs at each size ("{arch}_{path}_{kind}_by_size").
    ``table`` holds the runs with their ``size`` (``realdata.size_column``). Pure: no drawing, no files."""
    out = {"data": data}
    for arch in architectures(table):
        runs = table[table["arch"] == arch.value]
        for kind in KINDS:
            out |= means_by(runs, "size", [f"{k}_{kind}" for k in KEYS], f"{arch.value}_{{}}_by_size")
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """One column per architecture: loss (top) and error (bottom) barriers, mean +- standard error
    per path, against the size; ``table`` as for ``analyse``."""
    archs = architectures(table)
    fig, axes = figure(len(archs), width=4.4, height=3.5, nrows=2)
    for col, arch in enumerate(archs):
        runs = table[table["arch"] == arch.value]
        for row, kind in enumerate(KINDS):
            ax = axes[row][col]
            for k in KEYS:
                errorbar_means(ax, analysis[f"{arch.value}_{k}_{kind}_by_size"], runs, "size", f"{k}_{kind}",
                               marker="o", capsize=2, label=k.replace("_", " "))
            ax.set(xscale="log", xlabel=SIZE_LABEL[arch], ylabel=BARRIER_LABEL[kind])
            fixed_log_ticks(ax.xaxis, np.unique(runs["size"]))
            if kind == "loss":
                barrier_axis(ax, [runs[f"{k}_loss"].to_numpy() for k in KEYS], REAL_BARRIER_LINEAR)
        per_point = pairs(int(group_stats(runs, "size", "plain_loss")["count"].max()))
        axes[0][col].set_title(f"{arch.value} on {analysis['data']}: B, C aligned to A\n({per_point} per point)",
                               fontsize=10)
        axes[0][col].legend(fontsize=7)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    table = table.assign(size=size_column(table))
    analysis = analyse(table, data_label(table))
    keys = tuple(f"{k}_{kind}" for k in KEYS for kind in KINDS)
    return save(plot(analysis, table), "real_three", out, table[["arch", "size", "replicate", *keys]].to_dict("list"),
                analysis)


EXPERIMENT = Experiment("real_three", "MLP, VGG and ResNet on real data: B and C aligned to a reference A vs directly "
                        "vs none", configs, run, summarize, order=170)
