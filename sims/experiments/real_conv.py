"""real_conv: the VGG-style and the ResNet-style network on real data (MNIST-1D by default): loss
and error barriers with no alignment, weight matching and activation matching, versus the channel
multiplier (VGG and ResNet-8) and versus the ResNet's depth (8, 14, 20, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import METHOD_COLOURS, REAL_BARRIER_LINEAR, FigureDir, barrier_axis, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats
from .realdata import (
    BARRIER_LABEL,
    KINDS,
    RealConfig,
    barrier_kwargs,
    conv_fields,
    data_label,
    dataset,
    errorbar_means,
    means_by,
    pairs,
    test_objective,
    train_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("plain", "weights", "activations")
#: the two architectures of the width sweep
ARCHS = ("vgg", "resnet")
#: the ResNet depth of the width sweep
WIDTH_SWEEP_DEPTH = 8


def configs(profile: Profile) -> list[RealConfig]:
    # the paper profile: a second pair per multiplier (conv nets in float64 cost 12-72 s a pair on
    # MNIST-1D, so that the profile stays within an hour on two cores), the largest first
    match profile:
        case Profile.QUICK:  # a first look: the two smaller multipliers, one deeper ResNet at the smaller (conv_fields)
            reps, largest_first, multipliers, depths, depth_multiplier = 1, False, (0.25, 0.5), (14,), 0.25
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps, largest_first, multipliers, depths, depth_multiplier = 2, True, (0.25, 0.5, 1.0), (14, 20), 0.5
        case _:
            unknown(profile)
    conv = conv_fields(profile, 600)
    out = [RealConfig(arch=arch, multiplier=w, depth=WIDTH_SWEEP_DEPTH, replicate=r, **conv)
           for arch in ("vgg", "resnet") for w in multipliers for r in range(reps)]
    out += [RealConfig(arch="resnet", multiplier=depth_multiplier, depth=L, replicate=0, **conv)
            for L in depths]
    return sorted(out, key=lambda c: -c.multiplier**2 * c.depth) if largest_first else out


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    test, options = test_objective(data), barrier_kwargs(data, cfg.bn_rows)
    on_train = train_objective(data.subset(1000))  # what activation matching sees
    out = {"test_error": test.error(A)}
    for method in METHODS:
        if method == "plain":
            res = tl.barrier(A, B, test, **options)
        else:
            res = tl.barrier(A, tl.permute(B, tl.match(A, B, method, on_train).perms), test, **options)
        out[f"{method}_loss"], out[f"{method}_error"] = res.value, res.error.value
    return out


def sweeps(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The width sweep's runs (every VGG, the ResNets of depth ``WIDTH_SWEEP_DEPTH``) and the depth
    sweep's (the ResNets of the multiplier the deeper ResNets have: 0.5 in the paper profile)."""
    resnets = table[table["arch"] == "resnet"]
    multiplier = resnets.loc[resnets["depth"] != WIDTH_SWEEP_DEPTH, "multiplier"].unique()
    if multiplier.size > 1:
        raise ValueError(f"the deeper ResNets must share one multiplier; got {sorted(multiplier)}")
    return (table[(table["arch"] == "vgg") | (table["depth"] == WIDTH_SWEEP_DEPTH)],
            resnets[resnets["multiplier"].isin(multiplier)])


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); per kind of barrier, architecture
    and path, the barrier's mean over the pairs at each channel multiplier of the width sweep
    ("{arch}_{path}_{kind}_by_multiplier") and, for the ResNet, at each depth of the depth sweep
    ("resnet_{path}_{kind}_by_depth"); per architecture the endpoints' mean test error per
    multiplier. Pure: no drawing, no files."""
    width_runs, depth_runs = sweeps(table)
    out = {"data": data}
    for kind in KINDS:
        barriers = [f"{m}_{kind}" for m in METHODS]
        for arch in ARCHS:
            out |= means_by(width_runs.query("arch == @arch"), "multiplier", barriers, f"{arch}_{{}}_by_multiplier")
        out |= means_by(depth_runs, "depth", barriers, "resnet_{}_by_depth")
    for arch in ARCHS:
        out |= means_by(width_runs.query("arch == @arch"), "multiplier", ("test_error",), f"{arch}_{{}}_by_multiplier")
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """Loss (top) and error (bottom) barriers, mean +- standard error per path, against the channel
    multiplier for both architectures (left) and against the ResNet's depth (right)."""
    fig, axes = figure(2, width=5.0, height=3.7, nrows=2)
    width_runs, depth_runs = sweeps(table)
    for row, kind in enumerate(KINDS):
        for arch, marker, ls in zip(ARCHS, ("o", "s"), ("-", "--")):
            runs = width_runs.query("arch == @arch")
            for method in METHODS:
                errorbar_means(axes[row][0], analysis[f"{arch}_{method}_{kind}_by_multiplier"], runs, "multiplier",
                               f"{method}_{kind}", marker=marker, ls=ls, color=METHOD_COLOURS[method], capsize=2,
                               label=f"{arch}{'-' + str(WIDTH_SWEEP_DEPTH) if arch == 'resnet' else ''}, {method}")
        for method in METHODS:
            errorbar_means(axes[row][1], analysis[f"resnet_{method}_{kind}_by_depth"], depth_runs, "depth",
                           f"{method}_{kind}", marker="s", ls="--", color=METHOD_COLOURS[method], capsize=2,
                           label=f"resnet, {method}")
        axes[row][0].set(xscale="log", xlabel="channel multiplier", ylabel=BARRIER_LABEL[kind])
        fixed_log_ticks(axes[row][0].xaxis, np.unique(width_runs["multiplier"]))
        axes[row][1].set(xlabel="ResNet depth (layers)", ylabel=BARRIER_LABEL[kind])
        axes[row][1].set_xticks(np.unique(depth_runs["depth"]))
        if kind == "loss":
            for ax in axes[row]:
                barrier_axis(ax, [table[f"{m}_loss"].to_numpy() for m in METHODS], REAL_BARRIER_LINEAR)
    per_point = pairs(int(group_stats(table, ["arch", "multiplier", "depth"], "plain_loss")["count"].max()))
    axes[0][0].set_title(f"Barrier vs width ({analysis['data']}, {per_point} per point)", fontsize=10)
    depth_multiplier = ", ".join(f"{w:g}" for w in np.unique(depth_runs["multiplier"]))
    axes[0][1].set_title(f"ResNet barrier vs depth (multiplier {depth_multiplier})", fontsize=10)
    axes[0][0].legend(fontsize=6, ncol=2)
    axes[0][1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    keys = ("test_error", *(f"{m}_{k}" for m in METHODS for k in KINDS))
    return save(plot(analysis, table), "real_conv", out,
                table[["arch", "multiplier", "depth", "replicate", *keys]].to_dict("list"),
                analysis)


EXPERIMENT = Experiment("real_conv", "VGG and ResNet on real data: barriers with no, weight and activation matching vs "
                        "width and depth", configs, run, summarize, order=160)
