"""Fits shared by the simulations and the tests: log-log slopes with bootstrap intervals,
extremum locations, transition points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twolayer._validate import check_array
from twolayer.model import SeedLike, as_generator


@dataclass
class SlopeFit:
    """log y = intercept + slope log x; ``ci`` the bootstrap 95% interval of the slope."""

    slope: float
    intercept: float
    ci: tuple[float, float]
    n: int


def loglog_slope(x, y, n_boot: int = 2000, seed: SeedLike = 0) -> SlopeFit:
    """Least-squares slope of log y on log x, with a 95% percentile bootstrap interval
    (resampling the (x, y) pairs; replicate measurements at one x are separate pairs)."""
    x = check_array("x", x, 1)
    y = check_array("y", y, 1, (x.size,))
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be > 0 for a log-log fit")
    if np.unique(x).size < 2:
        raise ValueError("x must take at least two distinct values")
    lx, ly = np.log(x), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    rng = as_generator(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    bx, by = lx[idx], ly[idx]
    bxm = bx - bx.mean(1, keepdims=True)
    var = (bxm**2).sum(1)
    ok = var > 0
    boot = (bxm[ok] * (by[ok] - by[ok].mean(1, keepdims=True))).sum(1) / var[ok]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return SlopeFit(float(slope), float(intercept), (float(lo), float(hi)), int(x.size))


def extremum(x, y, kind: str = "max", log_x: bool = True) -> float:
    """Location of the maximum (or minimum) of y(x): the vertex of the parabola through the
    best point and its neighbours (in log x if ``log_x``), or the best point at an edge."""
    x = check_array("x", x, 1)
    y = check_array("y", y, 1, (x.size,))
    order = np.argsort(x)
    x, y = x[order], y[order]
    s = np.log(x) if log_x else x
    j = int(np.argmax(y) if kind == "max" else np.argmin(y))
    if j == 0 or j == x.size - 1:
        return float(x[j])
    a, b, _ = np.polyfit(s[j - 1:j + 2], y[j - 1:j + 2], 2)
    v = -b / (2 * a) if a != 0 else s[j]
    v = float(np.clip(v, s[j - 1], s[j + 1]))
    return float(np.exp(v) if log_x else v)


def bootstrap_extremum(x, groups: list, kind: str = "max", n_boot: int = 1000,
                       seed: SeedLike = 0) -> tuple[float, tuple[float, float]]:
    """Extremum location of the mean curve and its 95% bootstrap interval, resampling the
    replicate values ``groups[i]`` measured at ``x[i]``."""
    x = check_array("x", x, 1)
    if len(groups) != x.size or any(len(g) == 0 for g in groups):
        raise ValueError("groups must hold a non-empty list of values for every x")
    groups = [np.asarray(g, dtype=float) for g in groups]
    point = extremum(x, np.array([g.mean() for g in groups]), kind)
    rng = as_generator(seed)
    boots = [extremum(x, np.array([rng.choice(g, g.size).mean() for g in groups]), kind)
             for _ in range(n_boot)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return point, (float(lo), float(hi))


def transition_point(x, y, log_x: bool = True) -> float:
    """Where y changes fastest: the midpoint (in log x) of the steepest step of y between
    consecutive x. A sharp transition shows up as one step carrying most of the change."""
    x = check_array("x", x, 1)
    y = check_array("y", y, 1, (x.size,))
    order = np.argsort(x)
    x, y = x[order], y[order]
    s = np.log(x) if log_x else x
    j = int(np.argmax(np.abs(np.diff(y)) / np.diff(s)))
    mid = 0.5 * (s[j] + s[j + 1])
    return float(np.exp(mid) if log_x else mid)


def transition_sharpness(x, y) -> float:
    """Fraction of the total variation of y carried by its largest single step (1 = a jump)."""
    y = check_array("y", y, 1)[np.argsort(check_array("x", x, 1))]
    steps = np.abs(np.diff(y))
    return float(steps.max() / steps.sum()) if steps.sum() > 0 else 0.0
