"""imp: simultaneous connectivity along iterative magnitude pruning (Sharma et al. 2024).

Each of two dense students (population GD from small balanced inits) is pruned in rounds:
the fraction ``prune`` of its remaining neurons with the smallest output mass |a_i| |w_i| is
removed (set to (0, 0), which GD keeps at 0), the rest is rewound to its checkpoint at step
``rewind`` and retrained. At every sparsity level: the barrier between the two pruned
networks with the dense networks' permutation, with a fresh matching, and with none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from twolayer.validation import check_positive_float, check_positive_int

from ..common import BARRIER_FLOOR, FigureDir, GDConfig, figure, plot_mean_curves, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import long, stack

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ImpConfig(GDConfig):
    m: int = 32
    steps: int = 8000
    tol: float | None = None
    init_scale: float = 1e-2
    rounds: int = 5
    prune: float = 0.3
    rewind: int = 50

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("rounds", self.rounds)
        check_positive_int("rewind", self.rewind)
        check_positive_float("prune", self.prune)
        if not self.prune < 1:
            raise ValueError(f"prune must lie in (0, 1); got {self.prune}")
        if self.rewind >= self.steps:
            raise ValueError(f"rewind must be < steps ({self.steps}); got {self.rewind}")


def configs(profile: Profile) -> list[ImpConfig]:
    match profile:
        case Profile.QUICK:
            reps = 3
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps = 10
        case _:
            unknown(profile)
    return [ImpConfig(replicate=r) for r in range(reps)]


def _prune(student: tl.Student, alive: np.ndarray, fraction: float) -> np.ndarray:
    """Drop the fraction of alive neurons with the smallest output mass."""
    mass = student.output_mass
    idx = np.flatnonzero(alive)
    drop = idx[np.argsort(mass[idx], kind="stable")[: int(round(fraction * idx.size))]]
    alive = alive.copy()
    alive[drop] = False
    return alive


def run(cfg: ImpConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    dense = cfg.students(seq, 2, checkpoints=[cfg.rewind])
    perm = tl.match(dense[0].net, dense[1].net).perm
    nets = [r.net for r in dense]
    alive = [np.ones(cfg.m, dtype=bool), np.ones(cfg.m, dtype=bool)]
    keys = ("remaining", "dense_perm", "fresh_perm", "plain", "loss")
    out = {k: np.empty(cfg.rounds + 1) for k in keys}
    for rnd in range(cfg.rounds + 1):
        if rnd:
            for i in range(2):
                alive[i] = _prune(nets[i], alive[i], cfg.prune)
                start = dense[i].checkpoints[0][1]
                mask = alive[i].astype(float)
                start = start.with_params(start.a * mask, start.W * mask[:, None])
                nets[i] = tl.train(start, tl.Population(teacher), lr=cfg.lr, steps=cfg.steps - cfg.rewind,
                                   tol=cfg.tol).net
        A, B = nets
        out["remaining"][rnd] = 0.5 * (alive[0].mean() + alive[1].mean())
        out["dense_perm"][rnd] = tl.barrier(A, tl.permute(B, perm), tl.Population(teacher)).value
        out["fresh_perm"][rnd] = tl.barrier_modulo_permutation(A, B, tl.Population(teacher)).value
        out["plain"][rnd] = tl.barrier(A, B, tl.Population(teacher)).value
        out["loss"][rnd] = 0.5 * (tl.population_loss(A, teacher) + tl.population_loss(B, teacher))
    return out


#: the per-round curves drawn, with their labels: the three barriers and the pruned networks' loss
CURVES = {"dense_perm": "permutation of the dense networks", "fresh_perm": "fresh matching",
          "plain": "no permutation", "loss": "mean loss of the pruned networks"}


def analyse(table: pd.DataFrame) -> dict:
    """Round by round, the mean over pairs of the fraction of neurons remaining
    ("remaining_fraction") and of each curve c of ``CURVES``, c̄_j = (1/n) sum_i c_ij over the n
    pairs i at round j. Pure: no drawing, no files."""
    return {"remaining_fraction": stack(table, "remaining").mean(axis=0).tolist()} | {
        k: stack(table, k).mean(axis=0).tolist() for k in CURVES}


def plot(analysis: dict, table: pd.DataFrame):
    """The mean curves (band: +-1 standard error over pairs) against the mean fraction of neurons
    remaining, decreasing to the right."""
    fig, (ax,) = figure(1, width=6)
    plot_mean_curves(ax, np.array(analysis["remaining_fraction"]), table, tuple(CURVES), CURVES, floor=BARRIER_FLOOR)
    ax.invert_xaxis()
    ax.set(yscale="log", xlabel="fraction of neurons remaining", ylabel="barrier, or loss (population)",
           title="Barrier along iterative magnitude pruning")
    ax.legend(fontsize=7)
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    return save(plot(analysis, table), "imp", out, long(table, ("replicate",), ("remaining", *CURVES), index="round"),
                analysis)


EXPERIMENT = Experiment("imp", "IMP with rewinding: barrier between pruned networks with the dense permutation "
                        "vs fresh matching vs none", configs, run, summarize, order=80)
