"""Name -> experiment (``sims/experiments/NAME.py``). Modules are imported on first use."""

from __future__ import annotations

import importlib

from .experiment import Experiment

NAMES = ("width", "lr", "lr_dynamics", "wasserstein", "trajectory", "three", "imp", "matching", "mnist_width",
         "mnist_depth", "mnist_lr", "mnist_trajectory", "mnist_imp", "dimension")


def get(name: str) -> Experiment:
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"sims.experiments.{name}").EXPERIMENT
