"""Name -> experiment (``sims/experiments/NAME.py``). Modules are imported on first use."""

from __future__ import annotations

import importlib

from .experiment import Experiment

NAMES = ("width", "width_frozen", "lr", "lr_dynamics", "wasserstein", "trajectory", "three", "imp", "matching",
         "repair_width", "merge",
         "real_width", "real_depth", "real_lr", "real_trajectory", "real_imp", "real_conv", "real_three", "real_repair",
         "dimension", "regimes")


def get(name: str) -> Experiment:
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"sims.experiments.{name}").EXPERIMENT
