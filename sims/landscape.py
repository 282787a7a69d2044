"""The landscape pictures of ``twolayer.plot`` for one pair of real-data networks.

    python -m sims.landscape [--figures DIR] [--resolution N] [--seed S]

Two VGG-style networks with BatchNorm (channel multiplier 0.5) trained on MNIST-1D by the
protocol of ``real_conv`` (``sims/experiments/realdata.py``: 600 steps of SGD with momentum,
lr 0.05, batch 128; seeds from ``SeedSequence(S)`` as the experiments draw them), B aligned to A
by weight matching, then

* ``landscape_path``: test loss and error rate along theta(t) = t theta_A + (1 - t) theta_B,
  without alignment and with pi(B), BatchNorm statistics recomputed on 1000 training rows at
  every t (solid) or interpolated (dashed); the error rates shaded with their 95 % Clopper-Pearson
  interval over the test rows (the sampling error of one pair's curve; the pair-to-pair spread is
  ``real_conv``'s);
* ``landscape_plane``: test loss and error rate on the plane through A, B and pi(B)
  (``twolayer.plot.plane_grid``, N x N points, statistics recomputed at every point).

Writes PNG, PDF, CSV and JSON of both to DIR (default ``results/figures``; the committed ones:
``--figures figures``), with the wall time and the machine's 1-minute load average at start and
end (it may be shared). Data are generated offline (``mnist1d``), never downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import twolayer as tl
from theory.fits import clopper_pearson
from twolayer.random import child

from .common import FigureDir, save
from .experiments.realdata import RealConfig, barrier_kwargs, dataset, test_objective, train_objective

LOSS_LABEL = "test loss (cross-entropy, nats)"

#: the figures this command writes, with their one-line descriptions (for ``python -m sims report``)
FIGURES = {
    "landscape_path": "MNIST-1D VGG (BN, x0.5), one pair: test loss and error rate along the linear path, no "
                      "alignment / weight matching, BatchNorm recomputed / interpolated (python -m sims.landscape)",
    "landscape_plane": "the same pair: test loss and error rate on the plane through A, B and pi(B), "
                       "parameter-distance coordinates (python -m sims.landscape)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sims.landscape", description=__doc__.splitlines()[0])
    parser.add_argument("--figures", default="results/figures", help="folder of the figures (default %(default)s)")
    parser.add_argument("--resolution", type=int, default=21, help="plane grid points per axis (default 21)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.resolution < 3 or args.seed < 0:
        print("error: --resolution must be >= 3 and --seed >= 0", file=sys.stderr)
        return 2
    out = Path(args.figures)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cfg = RealConfig(arch="vgg", multiplier=0.5, steps=600)
    data = dataset(cfg.data, cfg.n_train)
    train, test, kwargs = train_objective(data), test_objective(data), barrier_kwargs(data)
    seq = np.random.SeedSequence(args.seed)
    A, B = (tl.train(cfg.network(data, child(seq, 2 * i)), train, "sgd", lr=cfg.lr, steps=cfg.steps,
                     batch=cfg.batch, seed=child(seq, 2 * i + 1)).net for i in range(2))
    protocol = {"data": data.name, "network": "VGG-small, BatchNorm, channel multiplier 0.5",
                "training": f"SGD momentum 0.9, lr {cfg.lr}, batch {cfg.batch}, {cfg.steps} steps",
                "seed": args.seed, "evaluated_on": f"test set ({test.X.shape[0]} rows)",
                "batch_norm_rows": int(kwargs["recompute_bn"].shape[0]), "load_average_1min_start": os.getloadavg()[0]}

    curves = tl.plot.path_curves(A, B, test, methods=(None, "weights"), batch_norm=(True, False), ts=kwargs["ts"],
                                 bn_inputs=kwargs["recompute_bn"])
    title = f"{data.name}: VGG (BN, x0.5), test set; B aligned to A by weight matching"
    rows = test.X.shape[0]
    columns = {"t": curves[0].ts}
    fitted = dict(protocol)
    bands = []
    for c in curves:
        key = f"{c.method or 'none'}_{'bn_recomputed' if c.recompute_bn else 'bn_interpolated'}"
        bands.append(np.array([clopper_pearson(round(e * rows), rows) for e in c.error]).T)
        columns[f"{key}_loss"], columns[f"{key}_error"] = c.loss, c.error
        columns[f"{key}_error_ci95_lo"], columns[f"{key}_error_ci95_hi"] = bands[-1]
        fitted[f"{key}_loss_barrier"], fitted[f"{key}_error_barrier"] = c.barrier, c.error_barrier
    path_name, plane_name = FIGURES
    save(tl.plot.draw_path(curves, title, LOSS_LABEL, bands, f"95 % interval over the {rows} test rows"),
         path_name, FigureDir(out), columns, fitted)

    aligned = tl.permute(B, tl.match(A, B).perms)
    grid = tl.plot.plane_grid(A, B, aligned, test, resolution=args.resolution, recompute_bn=kwargs["recompute_bn"])
    X, Y = np.meshgrid(grid.x, grid.y)
    plane_title = title.replace("; B aligned", "; π(B): B aligned")
    save(tl.plot.draw_plane(grid, plane_title, LOSS_LABEL), plane_name, FigureDir(out),
         {"x": X.ravel(), "y": Y.ravel(), "loss": grid.loss.ravel(), "error": grid.error.ravel()},
         protocol | {"points_xy": grid.points.tolist(), "points": list(grid.labels),
                     "loss_at_points": grid.point_loss.tolist(), "grid_loss_min": float(grid.loss.min()),
                     "grid_loss_max": float(grid.loss.max()), "resolution": args.resolution,
                     "wall_seconds": time.perf_counter() - start, "load_average_1min_end": os.getloadavg()[0]})
    print(f"landscape_path and landscape_plane written to {out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
