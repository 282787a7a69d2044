"""Fits shared by the simulations and the tests: log-log slopes with bootstrap intervals,
extremum locations, transition points."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from twolayer import SeedLike, as_generator
from twolayer.validation import check_array, check_enum


@dataclass
class SlopeFit:
    """log y = intercept + slope log x; ``ci`` the bootstrap 95% interval of the slope, ``boot`` the
    bootstrap slopes it is read from."""

    slope: float
    intercept: float
    ci: tuple[float, float]
    n: int
    boot: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)


def loglog_slope(x, y, n_boot: int = 2000, seed: SeedLike = 0) -> SlopeFit:
    """Least-squares slope of log y on log x, with a 95% percentile bootstrap interval
    (resampling the (x, y) pairs; replicate measurements at one x are separate pairs). Resamples
    whose x take a single value have no slope and are left out of ``boot`` and the interval."""
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
    # a resample whose x take one value has no slope; its centred log x are rounding noise, not 0
    # (the mean of n equal floats need not equal them), so the test is on the range, which is exact
    ok = np.ptp(bx, axis=1) > 0
    bxm = bx - bx.mean(1, keepdims=True)
    var = (bxm**2).sum(1)
    boot = (bxm[ok] * (by[ok] - by[ok].mean(1, keepdims=True))).sum(1) / var[ok]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return SlopeFit(float(slope), float(intercept), (float(lo), float(hi)), int(x.size), boot)


def slope_difference(a: SlopeFit, b: SlopeFit) -> tuple[float, tuple[float, float]]:
    """a.slope - b.slope and its 95% percentile interval, for fits on independent samples: the
    difference of their bootstrap slopes, drawn independently. A fit keeps only the resamples whose
    x took two or more values (``loglog_slope``), so the two may hold different numbers of them:
    the first min(len) of each are paired (independent draws either way)."""
    n = min(a.boot.size, b.boot.size)
    if n == 0:
        raise ValueError("both fits need bootstrap slopes (loglog_slope with n_boot > 0)")
    lo, hi = np.percentile(a.boot[:n] - b.boot[:n], [2.5, 97.5])
    return a.slope - b.slope, (float(lo), float(hi))


def median_ci(clusters, n_boot: int = 2000, seed: SeedLike = 0) -> tuple[float, tuple[float, float]]:
    """Median of all values and its 95% percentile bootstrap interval, resampling whole clusters.

    ``clusters`` is a list of 1-D arrays, one per independent unit (a pair of networks, say),
    each holding that unit's values (its checkpoints, say): values within a cluster are
    correlated, so the clusters, not the values, are drawn with replacement.
    """
    clusters = [np.asarray(c, dtype=float).ravel() for c in clusters]
    if not clusters or any(c.size == 0 for c in clusters):
        raise ValueError("clusters must be a non-empty list of non-empty arrays")
    point = float(np.median(np.concatenate(clusters)))
    rng = as_generator(seed)
    n = len(clusters)
    draws = np.array([rng.integers(0, n, n) for _ in range(n_boot)])  # one resample of the clusters a row
    if len({c.size for c in clusters}) == 1:  # equal clusters: every resample's median at once
        boots = np.median(np.stack(clusters)[draws].reshape(n_boot, -1), axis=1)
    else:
        boots = [np.median(np.concatenate([clusters[i] for i in row])) for row in draws]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return point, (float(lo), float(hi))


def clopper_pearson(successes: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95% interval for a binomial rate with ``successes`` out of ``n``:
    the 2.5% and 97.5% quantiles of Beta(s, n - s + 1) and Beta(s + 1, n - s) (SciPy's
    ``binomtest(...).proportion_ci(method="exact")``)."""
    from scipy.stats import binomtest

    if not 0 <= successes <= n or n < 1:
        raise ValueError(f"need 0 <= successes <= n and n >= 1; got {successes} of {n}")
    ci = binomtest(int(successes), int(n)).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


@dataclass
class LevelOffsets:
    """Per group g, the mean residual of log y about one pooled log-log line, as a factor
    exp(offset_g) on y, with a bootstrap 95% interval (rows resampled within the group) and a
    simultaneous one (Bonferroni: each at 1 - 0.05 / number of groups); ``p_equal`` the one-way
    analysis-of-variance p-value of the hypothesis that every group has the same mean residual."""

    slope: float
    factor: dict
    ci: dict
    ci_simultaneous: dict
    p_equal: float


def level_offsets(x, y, groups, n_boot: int = 2000, seed: SeedLike = 0) -> LevelOffsets:
    """Do the groups share one power law's level? log y_i = a + s log x_i + e_i fitted to all
    rows; group g's offset is the mean of its residuals e_i. A factor whose interval excludes 1
    says group g lies above (or below) the others at every x; the slope is the pooled fit's."""
    x = check_array("x", x, 1)
    y = check_array("y", y, 1, (x.size,))
    groups = np.asarray(groups)
    if groups.shape != (x.size,):
        raise ValueError(f"groups must have shape ({x.size},); got {groups.shape}")
    fit = loglog_slope(x, y, n_boot=2, seed=seed)
    resid = np.log(y) - fit.intercept - fit.slope * np.log(x)
    from scipy.stats import f_oneway

    rng = as_generator(seed)
    labels = np.unique(groups)
    tail = 2.5 / labels.size  # percent in each tail of the simultaneous intervals
    factor, ci, simultaneous = {}, {}, {}
    for g in labels:
        r = resid[groups == g]
        boot = r[rng.integers(0, r.size, size=(n_boot, r.size))].mean(1)
        lo, hi, slo, shi = np.exp(np.percentile(boot, [2.5, 97.5, tail, 100 - tail]))
        key = g.item() if hasattr(g, "item") else g
        factor[key] = float(np.exp(r.mean()))
        ci[key], simultaneous[key] = (float(lo), float(hi)), (float(slo), float(shi))
    p_equal = float(f_oneway(*(resid[groups == g] for g in labels)).pvalue) if labels.size >= 2 else float("nan")
    return LevelOffsets(fit.slope, factor, ci, simultaneous, p_equal)


class Extremum(Enum):
    """Which extremum ``extremum`` locates."""

    MAX = "max"
    MIN = "min"


def extremum(x, y, kind: Extremum | str = Extremum.MAX, log_x: bool = True) -> float:
    """Location of the maximum (or minimum) of y(x): the vertex of the parabola through the
    best point and its neighbours (in log x if ``log_x``), or the best point at an edge.

    Examples
    --------
    >>> extremum([1.0, 2.0, 4.0, 8.0], [0.0, 1.0, 1.0, 0.0])
    2.8284271247461916
    """
    kind = check_enum("kind", kind, Extremum)
    x = check_array("x", x, 1)
    y = check_array("y", y, 1, (x.size,))
    order = np.argsort(x)
    x, y = x[order], y[order]
    s = np.log(x) if log_x else x
    j = int(np.argmax(y) if kind is Extremum.MAX else np.argmin(y))
    if j == 0 or j == x.size - 1:
        return float(x[j])
    a, b, _ = np.polyfit(s[j - 1:j + 2], y[j - 1:j + 2], 2)
    v = -b / (2 * a) if a != 0 else s[j]
    v = float(np.clip(v, s[j - 1], s[j + 1]))
    return float(np.exp(v) if log_x else v)


def bootstrap_extremum(x, groups: list, kind: Extremum | str = Extremum.MAX, n_boot: int = 1000,
                       seed: SeedLike = 0) -> tuple[float, tuple[float, float]]:
    """Extremum location of the mean curve and its 95% bootstrap interval, resampling the
    replicate values ``groups[i]`` measured at ``x[i]``."""
    kind = check_enum("kind", kind, Extremum)
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


def first_crossing(x, y, level: float) -> float:
    """The smallest x at which y, scanned in increasing x, has fallen to ``level`` or below.

    Between the last grid point above ``level`` and the first at or below it the crossing is
    interpolated linearly in (log x, y). A NaN in y (a run that diverged) ends the scan: the
    result is then NaN, as it is when y never falls to ``level``.
    """
    x = check_array("x", x, 1)
    y = np.asarray(y, dtype=float)
    if y.shape != x.shape:
        raise ValueError(f"y must have shape {x.shape}; got {y.shape}")
    order = np.argsort(x)
    x, y = x[order], y[order]
    for j in range(x.size):
        if not np.isfinite(y[j]):
            return float("nan")
        if y[j] <= level:
            if j == 0:
                return float(x[0])
            frac = (y[j - 1] - level) / (y[j - 1] - y[j])
            return float(np.exp(np.log(x[j - 1]) + frac * (np.log(x[j]) - np.log(x[j - 1]))))
    return float("nan")


@dataclass
class TransitionFit:
    """A drop of a curve y(x) measured on several replicate curves (``fit_transition``).

    ``location``: median over curves of the x where y has made half of its drop from y(x_min)
    to its own minimum (before any NaN), with a 95% bootstrap interval over curves (an upper
    end of inf: in over 2.5% of the resamples most curves did not drop). ``width_octaves``:
    median of log2(x_90 / x_10), the octaves between 10% and 90% of the drop. ``crossed``:
    how many of ``curves`` dropped by at least ``min_drop`` (the others count as beyond the grid).
    """

    location: float
    location_ci: tuple[float, float]
    width_octaves: float
    width_ci: tuple[float, float]
    crossed: int
    curves: int


def _median_inf(values: np.ndarray) -> float:
    """Median with NaN read as +inf (a curve that did not drop lies beyond the grid)."""
    return float(np.median(np.where(np.isnan(values), np.inf, values)))


def fit_transition(x, curves, min_drop: float = 0.3, n_boot: int = 2000,
                   seed: SeedLike = 0) -> TransitionFit | None:
    """Locate a drop of y(x) (e.g. sparsity against the learning rate) from replicate curves.

    A curve y drops if its minimum y_min before its first NaN (a diverged run) satisfies
    y_min <= (1 - min_drop) y(x_min); it drops at the x where y first reaches
    y(x_min) - (y(x_min) - y_min) / 2 (``first_crossing``). ``curves`` has shape (R, len(x)).
    Returns None unless more than half of the curves drop (no transition on this grid).
    """
    x = check_array("x", x, 1)
    Y = np.asarray(curves, dtype=float)
    if Y.ndim != 2 or Y.shape[1] != x.size or Y.shape[0] == 0:
        raise ValueError(f"curves must have shape (R, {x.size}); got {Y.shape}")
    order = np.argsort(x)
    x, Y = x[order], Y[:, order]
    loc = np.full(Y.shape[0], np.nan)
    width = np.full(Y.shape[0], np.nan)
    for r, y in enumerate(Y):
        if not np.isfinite(y[0]) or y[0] <= 0:
            continue
        reach = np.cumsum(~np.isfinite(y)) == 0
        floor = y[reach].min()
        if floor > (1 - min_drop) * y[0]:
            continue
        drop = y[0] - floor
        loc[r] = first_crossing(x, y, y[0] - 0.5 * drop)
        width[r] = np.log2(first_crossing(x, y, y[0] - 0.9 * drop) / first_crossing(x, y, y[0] - 0.1 * drop))
    crossed = int(np.isfinite(loc).sum())
    if crossed * 2 <= Y.shape[0]:
        return None
    rng = as_generator(seed)
    idx = rng.integers(0, Y.shape[0], size=(n_boot, Y.shape[0]))
    boot_loc = np.array([_median_inf(loc[i]) for i in idx])
    boot_width = np.array([np.nanmedian(width[i]) if np.isfinite(width[i]).any() else np.nan for i in idx])
    lo, hi = np.percentile(boot_loc, [2.5, 97.5], method="inverted_cdf")  # no interpolation: inf stays inf
    wlo, whi = np.nanpercentile(boot_width, [2.5, 97.5])
    return TransitionFit(_median_inf(loc), (float(lo), float(hi)), float(np.nanmedian(width)),
                         (float(wlo), float(whi)), crossed, int(Y.shape[0]))
