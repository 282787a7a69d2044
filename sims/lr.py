"""lr: sparsity of GD/SGD solutions and their barrier modulo permutation versus the learning rate.

Variants span the regimes named in the issue: trained or frozen output layer, standard or
mean-field scaling (learning rate multiplied by m there, the usual mean-field time scale),
full-batch GD on the population loss, online SGD, GD with a learning-rate warm-up, and GD and
minibatch SGD (several batch sizes) on the empirical loss of n samples. The
predictions drawn beside them (theory.stability): the rate 2/lambda_max above which no
balanced condensed minimum is stable (the same for every sparsity), the frozen-output
bound on neurons per ray, and 2/lambda_max at the initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import twolayer as tl
from theory import fits
from theory.stability import critical_rate, curvature_at_zero, lambda_max_balanced, max_neurons_per_ray_frozen
from twolayer._validate import check_choice, check_positive_int

from .common import GDConfig, child, figure, save
from .runner import Experiment

VARIANTS = ("gd", "gd-frozen", "gd-meanfield", "online-sgd", "gd-warmup", "gd-empirical", "sgd")
WARMUP_STAGES = 10
#: a run whose final population loss is above this has not settled at a minimum
CONVERGED_LOSS = 1e-4


@dataclass(frozen=True)
class LrConfig(GDConfig):
    m: int = 32
    lr: float = 0.1
    steps: int = 5000
    tol: float | None = None
    init_scale: float = 1e-2
    variant: str = "gd"
    batch: int = 32
    warmup: int = 500
    n: int = 2000

    def __post_init__(self):
        super().__post_init__()
        check_choice("variant", self.variant, VARIANTS)
        for name in ("batch", "warmup", "n"):
            check_positive_int(name, getattr(self, name))
        if self.warmup >= self.steps:
            raise ValueError(f"warmup must be < steps ({self.steps}); got {self.warmup}")


def configs(profile: str) -> list[LrConfig]:
    if profile == "quick":
        rates, reps, batches = np.geomspace(0.05, 4.0, 12), 1, (8, 64)
    else:
        rates, reps, batches = np.geomspace(0.02, 8.0, 25), 4, (8, 32, 128)
    return [LrConfig(variant=v, lr=float(round(lr, 6)), batch=b, replicate=r)
            for v in VARIANTS for b in (batches if v == "sgd" else (32,))
            for lr in rates for r in range(reps)]


def _train(cfg: LrConfig, teacher, seq) -> tl.TrainResult:
    frozen = cfg.variant == "gd-frozen"
    scaling = "meanfield" if cfg.variant == "gd-meanfield" else "standard"
    student = tl.Student.init(cfg.m, cfg.d, cfg.init_scale, seq, balanced=not frozen,
                              scaling=scaling, train_output=not frozen)
    lr = cfg.lr * (cfg.m if scaling == "meanfield" else 1.0)
    if cfg.variant == "online-sgd":
        return tl.train(student, teacher, "online", lr=lr, steps=cfg.steps, batch=cfg.batch, seed=seq)
    if cfg.variant in ("gd-empirical", "sgd"):
        method = "gd" if cfg.variant == "gd-empirical" else "sgd"
        return tl.train(student, teacher, method, "empirical", lr=lr, steps=cfg.steps, tol=cfg.tol, n=cfg.n,
                        batch=cfg.batch, seed=seq)
    if cfg.variant == "gd-warmup":  # geometric ramp from lr/100 to lr over `warmup` steps
        for stage_lr in np.geomspace(lr / 100, lr, WARMUP_STAGES):
            res = tl.train(student, teacher, lr=float(stage_lr), steps=cfg.warmup // WARMUP_STAGES)
            if res.diverged:
                return res
            student = res.student
        lr_steps = cfg.steps - WARMUP_STAGES * (cfg.warmup // WARMUP_STAGES)
        return tl.train(student, teacher, lr=lr, steps=lr_steps, tol=cfg.tol)
    return tl.train(student, teacher, lr=lr, steps=cfg.steps, tol=cfg.tol)


def run(cfg: LrConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    runs = [_train(cfg, teacher, child(seq, i)) for i in range(2)]
    diverged = any(r.diverged or not np.isfinite(r.final_loss) for r in runs)
    loss = max(r.final_loss for r in runs) if not diverged else np.nan
    out = {"diverged": diverged, "loss": loss, "converged": bool(loss < CONVERGED_LOSS)}
    if diverged:
        return out | {"neff": np.nan, "per_ray": np.nan, "barrier": np.nan}
    reports = [tl.sparsity(r.student, teacher) for r in runs]
    out["neff"] = np.mean([rep.effective_neurons for rep in reports])
    out["per_ray"] = np.mean([rep.per_direction.max() for rep in reports])
    out["barrier"] = tl.barrier_modulo_permutation(runs[0].student, runs[1].student, teacher).value
    return out


def _mean_converged(sel, lrs, key):
    """Mean of ``key`` over the converged runs at each learning rate (NaN where none)."""
    vals = [[r[key] for lr, r in sel if lr == x and r["converged"]] for x in lrs]
    return np.array([np.mean(v) if v else np.nan for v in vals])


def summarize(results, out: Path) -> dict:
    fig, (ax, ax2) = figure(2)
    columns: dict[str, list] = {k: [] for k in ("variant", "batch", "lr", "replicate", "diverged", "converged", "loss",
                                                "neff", "per_ray", "barrier")}
    for c, r in results:
        for key in columns:
            columns[key].append(getattr(c, key) if hasattr(c, key) else float(r[key]))
    c0 = results[0][0]
    teacher = c0.teacher()
    eta_bal = critical_rate(lambda_max_balanced(teacher))
    rng = np.random.default_rng(0)
    dirs = rng.standard_normal((2000, c0.d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    signs = rng.choice([-1.0, 1.0], 2000)  # balanced init: a_i / |w_i| = +-1
    eta_init = critical_rate(curvature_at_zero(dirs, signs, teacher).max())
    fitted: dict = {"eta_c_balanced_minima": eta_bal, "eta_c_init_coupling": eta_init}
    labels = sorted({(c.variant, c.batch if c.variant == "sgd" else None) for c, _ in results},
                    key=lambda vb: (VARIANTS.index(vb[0]), vb[1] or 0))
    for v, batch in labels:
        sel = sorted(((c.lr, r) for c, r in results
                      if c.variant == v and (batch is None or c.batch == batch)), key=lambda p: p[0])
        v = v if batch is None else f"sgd-b{batch}"
        lrs = np.array(sorted({lr for lr, _ in sel}))
        neff, bar = _mean_converged(sel, lrs, "neff"), _mean_converged(sel, lrs, "barrier")
        div = np.array([np.mean([r["diverged"] for lr, r in sel if lr == x]) for x in lrs])
        unsettled = np.array([np.mean([not r["converged"] for lr, r in sel if lr == x]) for x in lrs])
        ok = np.isfinite(neff)
        line, = ax.plot(lrs[ok], neff[ok], marker="o", label=v)
        ax2.plot(lrs[ok], np.maximum(bar[ok], 1e-8), marker="o", color=line.get_color(), label=v)
        entry = {"diverges_from_lr": float(lrs[np.argmax(div > 0)]) if np.any(div > 0) else None,
                 "no_minimum_from_lr": float(lrs[np.argmax(unsettled > 0)]) if np.any(unsettled > 0) else None}
        if ok.sum() >= 3:
            entry |= {"transition_lr": fits.transition_point(lrs[ok], neff[ok]),
                      "transition_sharpness": fits.transition_sharpness(lrs[ok], neff[ok]),
                      "neff_range": [float(np.nanmin(neff)), float(np.nanmax(neff))]}
        fitted[v] = entry
    grid = np.geomspace(min(c.lr for c, _ in results), max(c.lr for c, _ in results), 200)
    frozen_bound = [c0.k * max_neurons_per_ray_frozen(e, teacher) for e in grid]
    ax.plot(grid, np.minimum(frozen_bound, c0.m), "k:", label="theory: frozen, k x max stable neurons/ray")
    for axis in (ax, ax2):
        axis.axvline(eta_bal, color="k", ls="--", lw=1, label="theory: 2/lambda_max, balanced minima")
        axis.axvline(eta_init, color="0.5", ls="-.", lw=1, label="theory: 2/lambda_max at small init")
    ax.set(xscale="log", xlabel="learning rate eta (per step; mean-field: times m)",
           ylabel="effective neurons (participation ratio)",
           title=f"Sparsity of converged solutions vs learning rate (m={c0.m})")
    ax2.set(xscale="log", yscale="log", xlabel="learning rate eta", ylabel="barrier mod P (weights)",
            title="Barrier modulo permutation vs learning rate")
    ax.legend(fontsize=6)
    ax2.legend(fontsize=6)
    return save(fig, "lr", out, columns, fitted)


EXPERIMENT = Experiment("lr", "sparsity and barrier mod P vs learning rate across training regimes; "
                        "stability thresholds", configs, run, summarize)
