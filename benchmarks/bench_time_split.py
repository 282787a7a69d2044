"""Where a profile's compute goes: training, matching, barriers and the rest, per experiment.

    python benchmarks/bench_time_split.py [--profile paper] [--per 4] [--store results/paper]

Runs a systematic sample of each experiment's configs (every n-th of the profile's list, at most
``--per`` of them, in this process, one numba thread) with the public calls the experiments make
timed: ``train`` (training), ``match`` (matching, also when ``barrier_modulo_permutation`` calls
it), ``barrier`` and ``barrier_modulo_permutation`` (barriers, without the matching inside),
everything else (sparsity, Hessians, transport, theory of a run) as "other". Times are exclusive:
a timed call inside another is counted once, in its own category. With ``--store``, each
experiment's fractions are weighted by the compute its runs took in that store (the sum of the
runs' durations, as recorded when they ran); the time spent drawing figures is printed by the
sweep itself ("figure" column). Writes benchmarks/bench_time_split.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import numba
from _common import report

import twolayer
import twolayer.barriers
from sims.profile import Profile
from sims.registry import get, names
from sims.runner import run_seed

#: (module, attribute) -> category; the module attribute is replaced by a timing wrapper
TIMED = {(twolayer, "train"): "training", (twolayer, "train_replicas"): "training",
         (twolayer, "match"): "matching", (twolayer.barriers, "match"): "matching",
         (twolayer, "barrier"): "barriers", (twolayer, "barrier_modulo_permutation"): "barriers"}
CATEGORIES = ("training", "matching", "barriers", "other")


class ExclusiveTimer:
    """Seconds per category, a nested timed call's time subtracted from its caller's."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._children: list[float] = []

    def wrap(self, category: str, fn):
        def timed(*args, **kwargs):
            self._children.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                nested = self._children.pop()
                self.seconds[category] += elapsed - nested
                if self._children:
                    self._children[-1] += elapsed
        return timed


def sample(configs: list, per: int) -> list:
    step = max(1, len(configs) // per)
    return configs[::step][:per]


def stored_run_seconds(store: Path) -> dict[str, float]:
    db = sqlite3.connect(store / "index.sqlite")
    rows = db.execute("SELECT experiment, SUM(finished - started) FROM runs WHERE status = 'done' "
                      "GROUP BY experiment").fetchall()
    return {name: float(total) for name, total in rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="paper")
    p.add_argument("--per", type=int, default=4, help="configs sampled per experiment")
    p.add_argument("--store", default=None, help="a result store whose run times weight the experiments")
    args = p.parse_args()
    profile = Profile.of(args.profile, "--profile")
    numba.set_num_threads(1)  # as in a sweep with --jobs 2 on two cores
    weights = stored_run_seconds(Path(args.store)) if args.store else {}
    rows, totals = [], defaultdict(float)
    for name in names():
        timer = ExclusiveTimer()
        saved = {key: getattr(*key) for key in TIMED}
        for (module, attr), category in TIMED.items():
            setattr(module, attr, timer.wrap(category, saved[(module, attr)]))
        t0 = time.perf_counter()
        try:
            for cfg in sample(get(name).configs(profile), args.per):
                get(name).run(cfg, run_seed(name, cfg, 0))
        finally:
            for (module, attr), fn in saved.items():
                setattr(module, attr, fn)
        wall = time.perf_counter() - t0
        timer.seconds["other"] = wall - sum(timer.seconds[c] for c in CATEGORIES[:-1])
        row = {"experiment": name, "sampled_seconds": round(wall, 1)}
        row |= {c: round(timer.seconds[c] / wall, 3) for c in CATEGORIES}
        if name in weights:
            row["profile_run_seconds"] = round(weights[name], 1)
            for c in CATEGORIES:
                totals[c] += weights[name] * timer.seconds[c] / wall
        rows.append(row)
        print(f"{name}: {row}", flush=True)
    if totals:
        total = sum(totals.values())
        rows.append({"experiment": "all (weighted by the store's run seconds)",
                     "profile_run_seconds": round(total, 1)} | {c: round(totals[c] / total, 3) for c in CATEGORIES})
    report("bench_time_split", rows)


if __name__ == "__main__":
    main()
