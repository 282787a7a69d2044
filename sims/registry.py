"""The experiments, found in ``sims/experiments``: every module there that defines ``EXPERIMENT``
(an ``Experiment`` named as its module) is one, so a new module is all it takes to add one.

``names()`` lists them in ``Experiment.order`` (ties by name): the order of ``python -m sims
list``, of ``all`` and of the figures' report. Finding them imports every module of the package
(the experiments import their heavy dependencies, such as PyTorch, when they run).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from . import experiments
from .experiment import Experiment


@functools.cache
def names() -> tuple[str, ...]:
    """The experiments' names, in their order (``Experiment.order``, then name)."""
    found = []
    for module in pkgutil.iter_modules(experiments.__path__):
        experiment = getattr(importlib.import_module(f"{experiments.__name__}.{module.name}"), "EXPERIMENT", None)
        if experiment is None:  # a module of helpers (realdata)
            continue
        if experiment.name != module.name:
            raise RuntimeError(f"sims/experiments/{module.name}.py: EXPERIMENT is named {experiment.name!r}; "
                               f"name it {module.name!r}, as its module")
        found.append(experiment)
    return tuple(e.name for e in sorted(found, key=lambda e: (e.order, e.name)))


def get(name: str) -> Experiment:
    """The experiment ``name`` (its module's ``EXPERIMENT``); ValueError naming the choices."""
    if name not in names():
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"{experiments.__name__}.{name}").EXPERIMENT
