"""Helpers shared by the experiments: config overrides, training pairs, saving figures."""

from __future__ import annotations

import csv
import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import twolayer as tl  # noqa: E402
from twolayer._validate import check_positive_float, check_positive_int  # noqa: E402

PROFILES = ("quick", "paper")


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
        return [tl.train(tl.Student.init(self.m, self.d, self.init_scale, child(seq, i), balanced=True), teacher,
                         "gd", "population", lr=self.lr, steps=self.steps, tol=self.tol, checkpoints=checkpoints)
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


def child(seq: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """The i-th child of a run's stream (not mutating it)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=seq.spawn_key + (i,))


def long_columns(results: list[tuple[object, dict]], fields: typing.Sequence[str], arrays: typing.Sequence[str],
                 index: str | None = None) -> dict[str, list]:
    """Runs whose results hold equal-length arrays, as long CSV columns: one row per array entry
    with the config ``fields``, an optional position column ``index`` and the ``arrays`` values."""
    columns: dict[str, list] = {f: [] for f in (*fields, *([index] if index else []), *arrays)}
    for c, r in results:
        for j in range(len(r[arrays[0]])):
            for f in fields:
                columns[f].append(getattr(c, f))
            if index:
                columns[index].append(j)
            for k in arrays:
                columns[k].append(float(r[k][j]))
    return columns


def plot_mean_curves(ax, x, results: list[tuple[object, dict]], keys: typing.Sequence[str],
                     labels: dict[str, str] | None = None, floor: float | None = None) -> dict[str, np.ndarray]:
    """Plot the replicate mean of each per-run array ``keys`` against x (a key named "loss"
    dotted; values raised to ``floor`` for log axes) and return the means."""
    means = {}
    for k in keys:
        y = np.mean([r[k] for _, r in results], axis=0)
        ax.plot(x, y if floor is None else np.maximum(y, floor), marker="o", ls=":" if k == "loss" else "-",
                label=(labels or {}).get(k, k.replace("_", " ")))
        means[k] = y
    return means


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


def save(fig, name: str, out: Path, columns: dict[str, typing.Sequence], fitted: dict) -> dict:
    """Save figure NAME as PNG and PDF, its data as NAME.csv and its fitted numbers as NAME.json
    (floats to SIGNIFICANT_DIGITS significant digits; the PDF without a timestamp)."""
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png", dpi=130, bbox_inches="tight")
    fig.savefig(out / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})  # no timestamp
    plt.close(fig)
    keys = list(columns)
    with open(out / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        w.writerows(_rounded(list(row)) for row in zip(*(columns[k] for k in keys)))
    (out / f"{name}.json").write_text(json.dumps(_rounded(fitted), indent=1, default=float))
    return fitted


def figure(ncols: int = 1, width: float = 5.0, height: float = 3.8, nrows: int = 1):
    """A figure of nrows x ncols panels of the given size each: the row of axes (one row) or the grid."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes[0] if nrows == 1 else axes
