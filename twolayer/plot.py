"""Pictures of the loss landscape of any network: the linear path between two networks and the
plane through three.

Each picture is computed by one function and drawn by another, so that the numbers can be kept
(CSV, JSON) and the drawing restyled:

============ ===================================== ==========================================
picture      computed by                           drawn by
============ ===================================== ==========================================
path         ``path_curves(A, B, objective)``:     ``draw_path(curves)``; ``plot_path`` does
             loss (and error rate) along           both
             theta(t) = t theta_A + (1 - t)
             pi(theta_B), without alignment and
             after each matching method asked,
             BatchNorm statistics recomputed or
             not
plane        ``plane_grid(A, B, C, objective)``:   ``draw_plane(grid)``; ``plot_plane`` does
             loss (and error rate) on a grid of    both
             the plane through theta_A, theta_B,
             theta_C in orthonormal coordinates
============ ===================================== ==========================================

Plane coordinates (Garipov et al. 2018): u = (theta_B - theta_A) / |theta_B - theta_A|,
v the unit vector of theta_C - theta_A orthogonal to u (Gram-Schmidt), both over the learnt
parameters (``PermutationSpec.unscored`` arrays, BatchNorm's running statistics, left out of
distances); the point (x, y) is theta_A + x u + y v, so distances in the picture are distances
in parameter space. Every array (the running statistics too) is the same affine combination
theta_A + s (theta_B - theta_A) + r (theta_C - theta_A) of the three networks; with BatchNorm the
statistics are recomputed on data at every point unless ``recompute_bn=False``. Typical use: A,
B and pi(B), B aligned to A (Ainsworth et al. 2023, Fig. 1 and 5).

References
----------
T. Garipov, P. Izmailov, D. Podoprikhin, D. Vetrov, A. G. Wilson. Loss surfaces, mode
connectivity, and fast ensembling of DNNs. NeurIPS 2018. arXiv:1802.10026.
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .barriers import barrier, barrier_modulo_permutation
from .interop import as_network
from .matching import matching_method
from .objective import Objective, check_objective
from .permutation import check_compatible
from .validation import check_array, check_positive_float, check_positive_int

#: colour of each alignment in the path picture (one colour per meaning)
_COLOURS = {None: "0.45", "weights": "tab:blue", "activations": "tab:orange", "weights_cov": "tab:green",
            "refine": "tab:purple", "ot": "tab:red"}


@dataclass
class PathCurve:
    """One curve along the linear path.

    Attributes
    ----------
    method : str or None
        The matching method that aligned B (``twolayer.METHODS``), None for no alignment.
    recompute_bn : bool or None
        Whether BatchNorm statistics were recomputed at every t (None: the network has none).
    ts : array of shape (g,)
        Grid of t in [0, 1] (t = 1: A, t = 0: B).
    loss, error : arrays of shape (g,)
        The objective's loss and error rate (error None for objectives without one).
    barrier, error_barrier : float
        The loss barrier (Brent-refined, ``twolayer.barrier``) and error barrier (on the grid).
    """

    method: str | None
    recompute_bn: bool | None
    ts: np.ndarray
    loss: np.ndarray
    error: np.ndarray | None
    barrier: float
    error_barrier: float | None

    @property
    def label(self) -> str:
        aligned = "no alignment" if self.method is None else f"aligned ({self.method} matching)"
        return aligned if self.recompute_bn is None else \
            f"{aligned}, BN {'recomputed' if self.recompute_bn else 'interpolated'}"


def path_curves(A, B, objective: Objective, methods=(None, "weights"), batch_norm=(True, False), ts=None,
                bn_inputs=None, **options) -> list[PathCurve]:
    """Loss and error along the linear path from B (t = 0) to A (t = 1), for each alignment and
    BatchNorm treatment asked.

    Parameters
    ----------
    A, B : Student, MLP, TorchNetwork or torch.nn.Module
        Networks of one structure.
    objective : Objective
        What is measured along the path (and what activation matching uses).
    methods : sequence of (str or None)
        None: B as it is; a matching method's name (``twolayer.METHODS``): B aligned to A by it.
    batch_norm : sequence of bool
        For networks with BatchNorm: recompute its statistics at every t on the objective's
        inputs (True) and/or keep the interpolated running statistics (False). Ignored otherwise.
    ts : array, optional
        The grid (default 25 points in [0, 1]).
    bn_inputs : array of shape (n, features), optional
        The inputs BatchNorm statistics are recomputed on (default: the objective's), e.g.
        training rows when the objective is a test set (``recompute_bn`` of ``twolayer.barrier``).
    **options
        The matching methods' options.

    Returns
    -------
    list of PathCurve
        One per (method, BatchNorm treatment), in the order asked.

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 2)
    >>> A = tl.Student(T.b, T.V)
    >>> curves = path_curves(A, tl.permute(A, [1, 0]), tl.Population(T), ts=[0, 0.5, 1])
    >>> [c.label for c in curves], [round(c.barrier, 4) for c in curves]
    (['no alignment', 'aligned (weights matching)'], [0.0908, 0.0])
    """
    check_objective(objective)
    A, B = as_network(A, objective), as_network(B, objective)
    check_compatible(A, B)
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one alignment (None for none, or a matching method)")
    for method in methods:
        if method is not None:
            matching_method(method)
    modes = [bool(b) for b in batch_norm] if A.has_batch_norm else [None]
    if not modes:
        raise ValueError("batch_norm must hold True and/or False")
    recompute = True if bn_inputs is None else check_array("bn_inputs", bn_inputs, 2)
    curves = []
    for method in methods:
        for mode in modes:
            bn = False if mode is False else recompute
            if method is None:
                res = barrier(A, B, objective, ts=ts, recompute_bn=bn)
            else:
                res = barrier_modulo_permutation(A, B, objective, method, ts=ts, recompute_bn=bn, **options)
            err = res.error
            curves.append(PathCurve(method, mode, res.ts, res.curve, None if err is None else err.curve,
                                    res.value, None if err is None else err.value))
    return curves


def draw_path(curves: list[PathCurve], title: str | None = None, loss_label: str = "loss", error_bands=None,
              bands_label: str = "interval"):
    """A figure of loss (left) and error rate (right, when the objective has one) against t.

    Parameters
    ----------
    curves : list of PathCurve
        From ``path_curves``: one colour per alignment, solid lines with BatchNorm statistics
        recomputed, dashed with them interpolated.
    title : str, optional
    loss_label : str
        The loss axis' label, with its unit (e.g. "test loss (cross-entropy, nats)").
    error_bands : sequence of (lo, hi), optional
        One pair of arrays of shape (g,) per curve (None for none): an interval about each error
        curve, drawn shaded in its colour, e.g. the 95 % binomial interval over the evaluated rows.
    bands_label : str
        What the shaded bands are, for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("curves must hold at least one PathCurve (path_curves)")
    panels = 2 if curves[0].error is not None else 1
    bands = [None] * len(curves) if error_bands is None else list(error_bands)
    if len(bands) != len(curves) or (panels == 1 and any(b is not None for b in bands)):
        raise ValueError(f"error_bands must hold one (lo, hi) or None per curve ({len(curves)}), and only "
                         f"for curves with an error rate; got {len(bands)}")
    fig = Figure(figsize=(4.6 * panels, 3.6), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for c, band in zip(curves, bands):
        style = {"color": _COLOURS.get(c.method, "k"), "ls": "--" if c.recompute_bn is False else "-",
                 "marker": "o", "ms": 2.5, "lw": 1.4}
        axes[0].plot(c.ts, c.loss, label=f"{c.label}: barrier {c.barrier:.3g}", **style)
        if panels == 2:
            axes[1].plot(c.ts, c.error, label=f"{c.label}: barrier {c.error_barrier:.3g}", **style)
        if band is not None:
            axes[1].fill_between(c.ts, band[0], band[1], color=style["color"], alpha=0.15, lw=0)
    shaded = any(b is not None for b in bands)
    for i, (ax, what) in enumerate(zip(axes, (loss_label, "error rate"))):
        ax.set_xlabel(r"$t$ on $\theta(t) = t\,\theta_A + (1-t)\,\pi(\theta_B)$  (0: B, 1: A)")
        ax.set_ylabel(what)
        ax.set_xlim(0, 1)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), title_fontsize=7,
                  title=f"barriers; shaded: {bands_label}" if i == 1 and shaded else "barriers")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_path(A, B, objective: Objective, methods=(None, "weights"), batch_norm=(True, False), ts=None,
              bn_inputs=None, title: str | None = None, loss_label: str = "loss", **options):
    """``draw_path(path_curves(...))``: the path picture in one call (arguments as there)."""
    return draw_path(path_curves(A, B, objective, methods, batch_norm, ts, bn_inputs, **options), title, loss_label)


@dataclass
class PlaneGrid:
    """The loss on a grid of the plane through three networks (module docstring).

    Attributes
    ----------
    x, y : arrays of shape (gx,), (gy,)
        Grid coordinates along u and v (parameter-space distance).
    loss, error : arrays of shape (gy, gx)
        The objective's loss and error rate at (x[j], y[i]) (error None without one).
    points : array of shape (3, 2)
        Coordinates of A (0, 0), B (|theta_B - theta_A|, 0) and C.
    point_loss : array of shape (3,)
        The loss at the three networks, evaluated through the same coordinates.
    labels : tuple of three str
    """

    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    error: np.ndarray | None
    points: np.ndarray
    point_loss: np.ndarray
    labels: tuple[str, str, str]


def _flat(arrays, names) -> np.ndarray:
    return np.concatenate([np.ravel(arrays[k]).astype(np.float64) for k in names])


def plane_grid(A, B, C, objective: Objective, resolution: int = 21, margin: float = 0.25,
               recompute_bn: bool | np.ndarray = True, labels=("A", "B", r"$\pi(B)$")) -> PlaneGrid:
    """The loss (and error rate) on a ``resolution`` x ``resolution`` grid of the plane through
    A, B and C (module docstring), spanning the three networks plus ``margin`` times their extent
    on every side.

    Parameters
    ----------
    A, B, C : Student, MLP, TorchNetwork or torch.nn.Module
        Networks of one structure, not collinear.
    objective : Objective
    resolution : int
        Grid points per axis (at least 3).
    margin : float
        Border around the three networks, a fraction of their extent.
    recompute_bn : bool or array of shape (n, features)
        As for ``twolayer.barrier``: BatchNorm statistics recomputed at every point on the
        objective's inputs (True), on the inputs given, or interpolated (False).
    labels : three str
        The names drawn beside the three networks.

    Returns
    -------
    PlaneGrid

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 2)
    >>> A, B, C = (tl.Student.init(3, 2, seed=s) for s in range(3))
    >>> grid = plane_grid(A, B, C, tl.Population(T), resolution=5)
    >>> grid.loss.shape, bool(abs(grid.point_loss[1] - tl.Population(T).loss(B)) < 1e-12)
    ((5, 5), True)
    """
    check_objective(objective)
    nets = [as_network(n, objective) for n in (A, B, C)]
    check_compatible(nets[0], nets[1])
    check_compatible(nets[0], nets[2])
    objective.check(nets[0])
    resolution = check_positive_int("resolution", resolution, minimum=3)
    margin = check_positive_float("margin", margin, allow_zero=True)
    if len(labels) != 3 or not all(isinstance(s, str) for s in labels):
        raise ValueError(f"labels must be three strings; got {labels!r}")
    if recompute_bn is not True and recompute_bn is not False:
        recompute_bn = check_array("recompute_bn", recompute_bn, 2)
    arrays = [n.arrays() for n in nets]
    names = list(arrays[0])
    scored = [k for k in names if k not in nets[0].permutation_spec().unscored]
    base = _flat(arrays[0], scored)
    dB, dC = _flat(arrays[1], scored) - base, _flat(arrays[2], scored) - base
    norm_B = float(np.linalg.norm(dB))
    if norm_B == 0:
        raise ValueError("A and B are the same network: no plane through them")
    u = dB / norm_B
    cu = float(dC @ u)
    cv = float(np.linalg.norm(dC - cu * u))
    if cv <= 1e-12 * max(norm_B, float(np.linalg.norm(dC))):
        raise ValueError("A, B and C are collinear: no plane through them")
    points = np.array([[0.0, 0.0], [norm_B, 0.0], [cu, cv]])
    lo, hi = points.min(0), points.max(0)
    extent = float((hi - lo).max())
    xs = np.linspace(lo[0] - margin * extent, hi[0] + margin * extent, resolution)
    ys = np.linspace(lo[1] - margin * extent, hi[1] + margin * extent, resolution)
    has_bn = nets[0].has_batch_norm and recompute_bn is not False
    X = None if not has_bn else (objective.inputs(nets[0].in_features) if recompute_bn is True else recompute_bn)

    def scores(x: float, y: float) -> tuple[float, float | None]:
        r = y / cv  # theta = theta_A + s (theta_B - theta_A) + r (theta_C - theta_A)
        s = (x - r * cu) / norm_B
        net = nets[0].with_arrays({k: arrays[0][k] + s * (arrays[1][k] - arrays[0][k])
                                   + r * (arrays[2][k] - arrays[0][k]) for k in names})
        return objective.scores(net if X is None else net.with_batch_stats(X))

    values = [[scores(x, y) for x in xs] for y in ys]
    loss = np.array([[v[0] for v in row] for row in values])
    error = None if values[0][0][1] is None else np.array([[v[1] for v in row] for row in values], dtype=float)
    point_loss = np.array([scores(*p)[0] for p in points])
    return PlaneGrid(xs, ys, loss, error, points, point_loss, tuple(labels))


def _one_two_five(value: float, _position=None) -> str:
    """The tick label of a log axis: the number at 1, 2 and 5 times a power of ten, else none."""
    if value <= 0:
        return ""
    mantissa = value / 10.0 ** np.floor(np.log10(value))
    return f"{value:g}" if np.isclose(mantissa, [1, 2, 5], rtol=1e-6).any() else ""


def draw_plane(grid: PlaneGrid, title: str | None = None, loss_label: str = "loss"):
    """A figure of the loss (left; log colour scale) and error rate (right, when there is one) on
    the plane, contours over a heat map, the three networks marked and named.

    Parameters
    ----------
    grid : PlaneGrid
        From ``plane_grid``.
    title : str, optional
    loss_label : str
        The loss colour bar's label, with its unit (e.g. "test loss (cross-entropy, nats)").

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    panels = [(loss_label, grid.loss)] + ([] if grid.error is None else [("error rate", grid.error)])
    fig = Figure(figsize=(4.4 * len(panels), 3.9), layout="constrained")
    for i, (what, values) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        positive = values[values > 0]
        log = i == 0 and positive.size == values.size and positive.max() > 3 * positive.min()
        norm = LogNorm(values.min(), values.max()) if log else None
        mesh = ax.pcolormesh(grid.x, grid.y, values, shading="gouraud", cmap="viridis", norm=norm)
        levels = np.geomspace(values.min(), values.max(), 10) if log else 10
        ax.contour(grid.x, grid.y, values, levels=levels, colors="w", linewidths=0.6, alpha=0.8)
        ax.set_aspect("equal")
        bar = fig.colorbar(mesh, cax=ax.inset_axes([1.04, 0, 0.05, 1]), label=what + (" (log scale)" if log else ""))
        if log:  # plain numbers at 1, 2 and 5 times the powers of ten (not 4 x 10^0 at every tick)
            for set_formatter in (bar.ax.yaxis.set_major_formatter, bar.ax.yaxis.set_minor_formatter):
                set_formatter(FuncFormatter(_one_two_five))
        ax.plot(grid.points[:, 0], grid.points[:, 1], "o", color="tab:red", mec="w", ms=7)
        for (px, py), label in zip(grid.points, grid.labels):
            ax.annotate(label, (px, py), xytext=(5, 5), textcoords="offset points", color="w", fontsize=10,
                        fontweight="bold")
        ax.set_xlabel(f"$x$: from {grid.labels[0]} towards {grid.labels[1]} (parameter distance)")
        ax.set_ylabel(f"$y$: orthogonal, towards {grid.labels[2]} (parameter distance)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_plane(A, B, C, objective: Objective, resolution: int = 21, margin: float = 0.25,
               recompute_bn: bool | np.ndarray = True, labels=("A", "B", r"$\pi(B)$"), title: str | None = None,
               loss_label: str = "loss"):
    """``draw_plane(plane_grid(...))``: the plane picture in one call (arguments as there)."""
    return draw_plane(plane_grid(A, B, C, objective, resolution, margin, recompute_bn, labels), title, loss_label)
