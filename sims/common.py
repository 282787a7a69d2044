"""Helpers shared by the experiments: config overrides, training pairs, saving figures."""

from __future__ import annotations

import csv
import dataclasses
import enum
import json
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import twolayer as tl
from twolayer.random import child
from twolayer.validation import check_positive_float, check_positive_int

from .figureset import write_set
from .profile import Profile
from .table import stack


@dataclass(frozen=True)
class GDConfig:
    """Fields shared by the synthetic experiments: an orthonormal teacher (k rays in R^d),
    students of width m trained by population GD from small balanced inits (scale
    init_scale) with rate lr for at most ``steps`` updates, stopping at loss ``tol`` (none
    if None); ``replicate`` numbers independent repetitions."""

    k: int = 2
    d: int = 10
    m: int = 16
    lr: float = 0.5
    steps: int = 20_000
    tol: float | None = 1e-9
    init_scale: float = 1e-3
    replicate: int = 0

    def __post_init__(self):
        for name in ("k", "d", "m", "steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("replicate", self.replicate, minimum=0)
        check_positive_float("lr", self.lr)
        check_positive_float("init_scale", self.init_scale)
        if self.tol is not None:
            check_positive_float("tol", self.tol)
        if self.k > self.d:
            raise ValueError(f"k must be <= d for an orthonormal teacher; got k={self.k}, d={self.d}")

    def teacher(self) -> tl.Teacher:
        return tl.Teacher.orthonormal(self.k, self.d)

    def students(self, seq: np.random.SeedSequence, count: int, checkpoints=None) -> list[tl.TrainResult]:
        """``count`` students trained as the fields say, from the children 0..count-1 of the run's stream."""
        teacher = self.teacher()
        objective = tl.Population(teacher)
        return [tl.train(tl.Student.init(self.m, self.d, self.init_scale, child(seq, i), balanced=True), objective,
                         "gd", lr=self.lr, steps=self.steps, tol=self.tol, checkpoints=checkpoints)
                for i in range(count)]


def parse_value(text: str, kind):
    """Parse a --set value for a field annotated ``kind`` (int, float, str, bool or tuple)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind):
        if text.lower() == "none":
            return None
        return parse_value(text, next(a for a in typing.get_args(kind) if a is not type(None)))
    if kind is bool:
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if origin is tuple:
        inner = typing.get_args(kind)[0]
        return tuple(parse_value(t, inner) for t in text.split(",") if t)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(str(v.value) for v in kind)
            raise ValueError(f"expected one of {allowed}, got {text!r}") from None
    if kind in (int, float, str):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"expected {kind.__name__}, got {text!r}") from None
    raise ValueError(f"cannot parse a value of type {kind}")


def apply_overrides(configs: list, overrides: dict[str, str]) -> list:
    """Replace fields of every config by ``--set key=value`` overrides (validated again)."""
    if not configs or not overrides:
        return configs
    hints = typing.get_type_hints(type(configs[0]))
    for key in overrides:
        if key not in hints:
            raise ValueError(f"unknown key {key!r}; allowed: {', '.join(sorted(hints))}")
    parsed = {}
    for key, text in overrides.items():
        try:
            parsed[key] = parse_value(text, hints[key])
        except ValueError as e:
            raise ValueError(f"--set {key}: {e}") from None
    return list(dict.fromkeys(dataclasses.replace(c, **parsed) for c in configs))


def config_help(configs: list) -> str:
    """The --set keys of an experiment: one line per config field with its type and its value in
    the given configs (a profile), or the range it takes there; then the config's docstring."""
    first = configs[0]
    hints = typing.get_type_hints(type(first))
    lines = []
    for f in dataclasses.fields(first):
        kind = hints[f.name]
        values = list(dict.fromkeys(getattr(c, f.name) for c in configs))
        shown = [v.value if isinstance(v, enum.Enum) else v for v in values]
        text = f"{shown[0]}" if len(shown) == 1 else f"varies: {len(shown)} values"
        if len(shown) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in shown):
            text += f", {min(shown):g} .. {max(shown):g}"
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            text += f"  (one of {', '.join(str(v.value) for v in kind)})"
        lines.append(f"  {f.name:<14} {getattr(kind, '__name__', str(kind)):<12} {text}")
    doc = textwrap.fill(" ".join((type(first).__doc__ or "").split()), width=100)
    return "\n".join(lines) + (f"\n\n{doc}" if doc else "")


#: a population barrier below this is zero to rounding (its O(1) kernel terms cancel to ~1e-16):
#: it is left out of log-log fits and used as the floor of ratios of barriers
BARRIER_ZERO = 1e-14
#: the lowest value drawn on log axes of population barriers and losses (smaller ones, exact
#: zeros included, are drawn there and the figure says so)
BARRIER_FLOOR = 1e-10
#: barriers on real data are sampled test losses: their log axes are linear below this
REAL_BARRIER_LINEAR = 1e-3


#: one colour per meaning in every figure: the barrier with no permutation, with a permutation matched
#: afresh, with one permutation carried along (the final or the dense networks'), the endpoints' loss,
#: and theory (black)
MEANING_COLOURS = {"plain": "0.55", "fresh_perm": "C2", "final_perm": "C1", "dense_perm": "C1", "loss": "C3",
                   "theory": "k"}
#: one colour per alignment method in every figure that compares methods (none of MEANING_COLOURS';
#: "plain", no alignment, keeps its grey)
METHOD_COLOURS = {"plain": MEANING_COLOURS["plain"], "weights": "C0", "weights_cov": "C9", "activations": "C4",
                  "refine": "C5", "sinkhorn": "C6", "ste": "C8", "ot": "C7"}


def plot_mean_curves(ax, x, table, keys: typing.Sequence[str], labels: dict[str, str] | None = None,
                     floor: float | None = None) -> dict[str, np.ndarray]:
    """Plot the replicate mean of each per-run array column ``keys`` of a table of runs (a
    DataFrame, ``sims.table``) against x (a key named "loss" dotted; values raised to ``floor``
    for log axes; colours from ``MEANING_COLOURS``), with a band of +-1 standard error of the
    mean over replicates, and return the means."""
    means = {}
    for k in keys:
        Y = stack(table, k)
        y = Y.mean(axis=0)
        sem = Y.std(axis=0, ddof=1) / np.sqrt(len(Y)) if len(Y) > 1 else np.zeros_like(y)
        lift = (lambda v: v) if floor is None else (lambda v: np.maximum(v, floor))
        line, = ax.plot(x, lift(y), marker="o", ls=":" if k == "loss" else "-", color=MEANING_COLOURS.get(k),
                        label=(labels or {}).get(k, k.replace("_", " ")))
        ax.fill_between(x, lift(y - sem), lift(y + sem), color=line.get_color(), alpha=0.15, lw=0)
        means[k] = y
    return means


@dataclass(frozen=True)
class RunContext:
    """How a sweep's figures were made, written into each figure's JSON as "made_with": the
    command's profile, root seed and --set overrides, the package and the code that drew the
    figure, and the provenance of the runs drawn (``Store.provenance``)."""

    profile: Profile
    seed: int
    overrides: dict[str, str]
    package: str
    figures_drawn_by: str
    runs: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"profile": self.profile.value, "seed": self.seed, "overrides": self.overrides,
                "package": self.package, "figures_drawn_by": self.figures_drawn_by, "runs": self.runs}


@dataclass(frozen=True)
class FigureDir:
    """Where an experiment's summary saves its figures (the folder ``path``) and how they were made
    (``made_with``, written into each figure's JSON; None: not written, as for figures drawn
    outside a sweep). The command line gives each summary its own: the run context travels with
    the destination, explicitly, from ``__main__`` through ``Experiment.summarize`` to ``save``."""

    path: Path
    made_with: RunContext | None = None

#: significant digits of the floats written to CSV and JSON: results that agree to this many
#: digits (the last bits of a sum can depend on the thread schedule) give identical files
SIGNIFICANT_DIGITS = 10


def _rounded(value):
    """Floats (also inside lists and dicts) rounded to SIGNIFICANT_DIGITS significant digits."""
    if isinstance(value, (float, np.floating)):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def save(fig, name: str, out: FigureDir, columns: dict[str, typing.Sequence], fitted: dict) -> dict:
    """Save figure NAME as PNG and PDF, its data as NAME.csv and its fitted numbers as NAME.json
    (after ``out.made_with``, if any), the four as one unit in ``out.path``
    (``figureset.write_set``); floats to SIGNIFICANT_DIGITS significant digits, the PDF without a
    timestamp, so that unchanged results give unchanged files."""
    made_with = {} if out.made_with is None else {"made_with": out.made_with.as_dict()}
    keys = list(columns)

    def write_csv(path: Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys)
            w.writerows(_rounded(list(row)) for row in zip(*(columns[k] for k in keys)))

    try:
        bbox = _tight_bbox(fig, PNG_DPI)
        write_set(out.path, name, {
            "png": lambda p: fig.savefig(p, format="png", dpi=PNG_DPI, bbox_inches=bbox),
            "pdf": lambda p: fig.savefig(p, format="pdf", bbox_inches=bbox, metadata={"CreationDate": None}),
            "csv": write_csv,
            "json": lambda p: p.write_text(json.dumps(_rounded(made_with | fitted), indent=1, default=float))})
    finally:
        _pyplot().close(fig)
    return fitted


#: the resolution of the saved PNGs (dots per inch)
PNG_DPI = 130


def _tight_bbox(fig, dpi: float):
    """The figure's tight bounding box in inches, padded as ``bbox_inches="tight"`` pads it,
    measured once on the Agg canvas at ``dpi`` (a draw without rendering) and given to both saves
    (``"tight"`` draws the figure once more per format to measure it). The PNG is the
    one ``"tight"`` gives; the PDF's box is measured with the PNG's text metrics."""
    import matplotlib

    # fig.tight_layout() leaves a placeholder layout engine, for which savefig draws the figure once
    # more before saving; the layout is done, so no engine
    fig.set_layout_engine(None)
    old = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw_without_rendering()
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    finally:
        fig.set_dpi(old)


def _pyplot():
    """matplotlib's pyplot on the Agg backend, imported when a figure is made (0.5 s: not for
    commands that only check their arguments)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fixed_log_ticks(axis, ticks) -> None:
    """Label a log axis at ``ticks`` only, as plain numbers (no crowded minor labels)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    axis.set_major_locator(FixedLocator(list(ticks)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def log_axis_with_zeros(ax, linthresh: float) -> None:
    """A y axis logarithmic above ``linthresh`` and linear below it (shaded, and said in the axis
    label), so exact zeros stay visible."""
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.axhspan(0, linthresh, color="0.92", zorder=0, lw=0)
    ax.set_ylabel(f"{ax.get_ylabel()}\n(log; linear below {linthresh:g}, shaded)")


def barrier_axis(ax, values, linthresh: float) -> None:
    """A log y axis for barriers: plain when every value is above ``linthresh``, else
    ``log_axis_with_zeros`` so that zeros stay visible."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size and values.min() > linthresh:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    else:
        log_axis_with_zeros(ax, linthresh)


def plain_log_ticks(axis) -> None:
    """Label a log axis at 1, 2 and 5 times the powers of ten, as plain numbers (0.2, 0.5, 1, 2),
    so that a range of less than a decade still shows labels and none crowd."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


#: a value above this many times the median of its sample is an outlier (``outliers``)
OUTLIER_FACTOR = 20.0


def outliers(y, factor: float = OUTLIER_FACTOR) -> np.ndarray:
    """The mask y_i > factor * median(y) (NaN left out of the median): the values drawn capped by
    ``cap_outliers``."""
    y = np.asarray(y, dtype=float)
    return y > factor * np.nanmedian(y)


def cap_outliers(ax, x, y, factor: float = OUTLIER_FACTOR, **style) -> np.ndarray:
    """Plot (x, y), drawing ``outliers`` (points above ``factor`` times the median) as triangles at 3
    times the largest other value, so one outlier does not rescale the axis; returns the outlier
    mask (the caller states the outliers' values)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    high = outliers(y, factor)
    top = np.nanmax(y[~high]) * 3 if (~high).any() else np.nanmax(y)
    ax.plot(x[~high], y[~high], "o", **style)
    if high.any():
        ax.plot(x[high], np.full(high.sum(), top), "^", color=ax.lines[-1].get_color(), ms=8)
    return high


def figure(ncols: int = 1, width: float = 5.0, height: float = 3.8, nrows: int = 1):
    """A figure of nrows x ncols panels of the given size each: the row of axes (one row) or the grid."""
    fig, axes = _pyplot().subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes[0] if nrows == 1 else axes
