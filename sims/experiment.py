"""The experiment type: what the runner needs to know of an experiment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Experiment:
    """An experiment: its configs per profile, one run, and the figure made from all runs."""

    name: str
    description: str
    configs: Callable[[str], list[Any]]
    run: Callable[[Any, np.random.SeedSequence], dict[str, np.ndarray]]
    summarize: Callable[[list[tuple[Any, dict[str, np.ndarray]]], Path], dict]
