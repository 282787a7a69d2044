"""Shared pieces of the real-data experiments: the data set, the architectures, training pairs,
sparsity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from twolayer.data import Dataset, load_dataset
from twolayer.random import child
from twolayer.validation import check_enum, check_positive_float, check_positive_int

from ..experiment import ADDED_LATER
from ..profile import Profile, unknown
from ..table import by_key, group_stats, stack

if TYPE_CHECKING:
    import pandas as pd


class Architecture(Enum):
    """The network a real-data run trains."""

    MLP = "mlp"        #: ``depth`` hidden layers of ``width`` ReLU units (NumPy, ``twolayer.MLP``)
    VGG = "vgg"        #: ``twolayer.vgg`` with BatchNorm, channels x ``multiplier`` (PyTorch): VGG-16 on
    #: images of at least 32 x 32 (CIFAR-10), the small VGG otherwise (MNIST-1D, MNIST, digits)
    RESNET = "resnet"  #: ``twolayer.resnet`` of depth ``depth`` (6 n + 2), channels x ``multiplier`` (PyTorch)
    VGG_NOBN = "vgg_nobn"  #: the VGG of ``VGG`` without its BatchNorm layers (PyTorch)


#: training rows on which BatchNorm statistics are recomputed along a path (REPAIR uses a few
#: batches; measured on ResNet-8: 3 s per barrier instead of 8 s with all 4000 MNIST-1D rows)
BN_ROWS = 1000


@dataclass(frozen=True)
class RealConfig:
    """Fields shared by the real-data experiments.

    data: "mnist1d" (default, generated offline), "digits", or a folder with MNIST IDX files or
    CIFAR-10 binary batches; n_train: training examples used (0 = all); arch: ``Architecture``;
    width: hidden units per layer (mlp); depth: hidden layers (mlp) or layers 6 n + 2 (resnet;
    unused by the VGGs); multiplier: channel multiplier (VGGs, resnet); lr, steps, batch: SGD with
    momentum 0.9; bn_rows: the training rows on which BatchNorm statistics are recomputed along a
    path (``barrier_kwargs``); precision: "float64" (default) or "float32", the floating-point type of the
    PyTorch architectures (``twolayer.Precision``; the NumPy MLP is float64 only). float32 trains
    1.4-1.6x and evaluates barriers 1.9-2.2x faster; its plain barriers differ from float64's by
    less than the pair-to-pair spread, its aligned ones by as much or more, pair by pair
    (``benchmarks/bench_dtype.py``): a first look, as the quick profile uses it, not a replacement.
    """

    data: str = "mnist1d"
    n_train: int = 0
    arch: str = "mlp"
    width: int = 128
    depth: int = 1
    multiplier: float = 0.5
    lr: float = 0.05
    steps: int = 1500
    batch: int = 128
    replicate: int = 0
    precision: str = field(default="float64", metadata=ADDED_LATER)
    bn_rows: int = field(default=BN_ROWS, metadata=ADDED_LATER)

    def __post_init__(self):
        check_positive_int("n_train", self.n_train, minimum=0)
        for name in ("width", "depth", "steps", "batch", "bn_rows"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("replicate", self.replicate, minimum=0)
        check_positive_float("lr", self.lr)
        check_positive_float("multiplier", self.multiplier)
        arch = check_enum("arch", self.arch, Architecture)
        precision = check_enum("precision", self.precision, tl.Precision)
        if arch is Architecture.MLP and precision is not tl.Precision.FLOAT64:
            raise ValueError(f"precision must be 'float64' for arch='mlp' (the NumPy MLP); got {self.precision!r}")
        if arch is Architecture.RESNET and (self.depth < 8 or (self.depth - 2) % 6):
            raise ValueError(f"depth must be 6 n + 2 (8, 14, 20, ...) for arch='resnet'; got {self.depth}")
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(f"data must be 'mnist1d', 'digits' or a folder; got {self.data!r}")

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.arch)

    def network(self, data: Dataset, seed) -> tl.MLP | tl.TorchNetwork:
        """A freshly initialised network of this config's architecture for the data set."""
        arch = self.architecture
        if arch is Architecture.MLP:
            return tl.MLP.init((data.X_train.shape[1], *([self.width] * self.depth), data.classes), seed)
        if arch in (Architecture.VGG, Architecture.VGG_NOBN):
            layers = "vgg16" if len(data.shape) == 3 and min(data.shape[1:]) >= 32 else "small"
            return tl.vgg(data.shape, data.classes, self.multiplier, layers, batch_norm=arch is Architecture.VGG,
                          seed=seed, dtype=self.precision)
        return tl.resnet(data.shape, data.classes, self.multiplier, self.depth, seed=seed, dtype=self.precision)


#: x-axis label of ``size_column`` for each architecture
SIZE_LABEL = {Architecture.MLP: "hidden width (neurons)", Architecture.VGG: "channel multiplier",
              Architecture.RESNET: "channel multiplier", Architecture.VGG_NOBN: "channel multiplier"}


#: the quick profile's convolutional networks are float32 (``RealConfig.precision``) and recompute
#: their BatchNorm statistics along a path on 250 training rows (10 000 values per channel on
#: MNIST-1D's 40 positions; a third of a quick PyTorch run's time went to recomputing them on 1000
#: rows), for a first look in minutes
QUICK_CONV = {"precision": "float32", "bn_rows": 250}
#: the fraction of the paper profile's steps the quick profile trains its convolutional networks
QUICK_CONV_STEP_FRACTION = 1 / 3


def conv_fields(profile: Profile, steps: int) -> dict:
    """Config fields of a convolutional network trained ``steps`` SGD steps in the paper profile:
    in the quick profile float32 and ``QUICK_CONV_STEP_FRACTION`` of the steps."""
    match profile:
        case Profile.QUICK:
            return QUICK_CONV | {"steps": round(steps * QUICK_CONV_STEP_FRACTION)}
        case Profile.PAPER | Profile.FULL:  # full: as paper
            return {"steps": steps}
        case _:
            unknown(profile)


#: the fraction of the paper profile's steps (``RealConfig.steps``) the quick profile trains its MLPs
QUICK_MLP_STEP_FRACTION = 1 / 3


def mlp_fields(profile: Profile) -> dict:
    """Config fields of a NumPy MLP: the paper profile's defaults; in the quick profile
    ``QUICK_MLP_STEP_FRACTION`` of the steps (most of a real-data MLP run is its training)."""
    match profile:
        case Profile.QUICK:
            return {"steps": round(RealConfig.steps * QUICK_MLP_STEP_FRACTION)}
        case Profile.PAPER | Profile.FULL:  # full: as paper
            return {}
        case _:
            unknown(profile)


def three_architectures(profile: Profile, conv_steps: int) -> list[RealConfig]:
    """Sharma et al.'s per-network experiments: a 2-hidden-layer MLP (1 pair quick, 4 paper and
    full; ``mlp_fields``) and the VGG and the ResNet-8 at multiplier 0.5 (quick: 0.125; 1 pair quick, 2 paper and
    full), the convolutional nets trained ``conv_steps`` steps (``conv_fields``: fewer, in
    float32, quick)."""
    match profile:
        case Profile.QUICK:
            reps, conv_reps, multiplier = 1, 1, 0.125
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps, conv_reps, multiplier = 4, 2, 0.5
        case _:
            unknown(profile)
    conv = conv_fields(profile, conv_steps) | {"multiplier": multiplier}
    return ([RealConfig(depth=2, replicate=r, **mlp_fields(profile)) for r in range(reps)]
            + [RealConfig(arch="vgg", replicate=r, **conv) for r in range(conv_reps)]
            + [RealConfig(arch="resnet", depth=8, replicate=r, **conv) for r in range(conv_reps)])


@lru_cache(maxsize=4)
def dataset(source: str, n_train: int) -> Dataset:
    """The data set ``source`` (``twolayer.data.load_dataset``) with every feature standardised
    on the training set; the first n_train training examples when n_train > 0."""
    data = load_dataset(source, verbose=False).standardized()  # the command line names it once
    return data.subset(n_train or None)


def train_objective(data: Dataset) -> tl.Classification:
    """Cross-entropy on the training set (what the networks are trained on)."""
    return tl.Classification(data.X_train, data.y_train, shape=data.shape)


def test_objective(data: Dataset) -> tl.Classification:
    """Cross-entropy and error rate on the held-out set (what barriers are measured in)."""
    return tl.Classification(data.X_test, data.y_test, shape=data.shape)


def train_pair(cfg: RealConfig, data: Dataset, seq, count: int = 2, checkpoints=None, lr: float | None = None
               ) -> list[tl.TrainResult]:
    """``count`` networks of the config's architecture trained on the data, network i initialised
    from child 2 i and its minibatches drawn from child 2 i + 1 of the run's stream."""
    objective = train_objective(data)
    return [tl.train(cfg.network(data, child(seq, 2 * i)), objective, "sgd", lr=cfg.lr if lr is None else lr,
                     steps=cfg.steps, batch=cfg.batch, seed=child(seq, 2 * i + 1), checkpoints=checkpoints)
            for i in range(count)]


#: starting grid of the real-data barriers (then refined by Brent's method): 11 points
GRID = np.linspace(0.0, 1.0, 11)


def barrier_kwargs(data: Dataset, bn_rows: int = BN_ROWS) -> dict:
    """Barrier options for the real-data runs: an 11-point starting grid, and BatchNorm
    statistics recomputed on the first ``bn_rows`` training inputs (``RealConfig.bn_rows``; not
    on the test set the barrier is measured on)."""
    return {"recompute_bn": data.X_train[:bn_rows], "ts": GRID}


def effective_units(net: tl.MLP) -> float:
    """Participation ratio of the last hidden layer's output mass |W_L[:, i]| |W_{L-1}[i]|."""
    mass = np.linalg.norm(net.weights[-1], axis=0) * np.linalg.norm(net.weights[-2], axis=1)
    return float(mass.sum() ** 2 / (mass**2).sum()) if mass.sum() > 0 else 0.0


def size_column(table) -> np.ndarray:
    """Per run, the width an experiment varies: hidden units (mlp) or the channel multiplier."""
    return np.array([float(w) if a == Architecture.MLP.value else m
                     for a, w, m in zip(table["arch"], table["width"], table["multiplier"])])


def data_label(table) -> str:
    """The data set(s) the table's runs were made on, by name (``Dataset.name``), for titles and JSON."""
    return ", ".join(sorted({dataset(str(source), 0).name for source in np.unique(table["data"])}))


def pairs(count: int) -> str:
    """'1 pair', '4 pairs': the sample size in a title."""
    return f"{count} pair{'' if count == 1 else 's'}"


#: the two barriers measured on every real-data path: test cross-entropy and test error
KINDS = ("loss", "error")
#: the y-axis label of each kind of barrier
BARRIER_LABEL = {"loss": "loss barrier (test cross-entropy)", "error": "error barrier (test, fraction)"}


def architectures(table: pd.DataFrame) -> list[Architecture]:
    """The architectures the table's runs trained, in ``Architecture``'s order."""
    present = set(table["arch"])
    return [a for a in Architecture if a.value in present]


def means_by(table: pd.DataFrame, by: str, columns: Sequence[str], name: str = "{}") -> dict[str, dict]:
    """Per column c, the mean of c over the runs at each value v of the field ``by``,
    mean_v(c) = (1 / n_v) sum_{runs r with by = v} c_r (non-finite values left out, ``sims.table.group_stats``),
    as {name.format(c): {v: mean_v(c)}}."""
    return {name.format(c): by_key(group_stats(table, by, c)["value"]) for c in columns}


def mean_curves(runs: pd.DataFrame, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Per column of per-run arrays Y_r (equal lengths), their mean over the n runs entry by entry,
    y_j = (1 / n) sum_r Y_rj."""
    return {c: stack(runs, c).mean(axis=0) for c in columns}


def errorbar_means(ax, means: dict, table: pd.DataFrame, by: str, column: str, **style) -> None:
    """Draw ``means`` ({value of ``by``: mean of ``column``}, from an analysis) with bars of one
    standard error of the mean of ``column`` over the table's runs at each value."""
    ax.errorbar(list(means), list(means.values()), group_stats(table, by, column)["sem"].to_numpy(), **style)
