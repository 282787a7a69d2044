"""The experiment type: what the runner needs to know of an experiment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import FigureDir
from .profile import Profile
from .store import Store

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Experiment:
    """An experiment: its configs per profile, one run, and the figure made from all runs.

    An experiment is a module of ``sims/experiments`` that defines ``EXPERIMENT``, named as its
    module: ``sims.registry`` finds it there (no list to edit). ``configs(profile)`` takes a
    ``sims.profile.Profile`` and matches every member. ``summarize(table, figures, store)``
    draws the figure from the table of finished runs (a pandas DataFrame, one row per run;
    ``sims.table``) into ``figures`` (a ``FigureDir``: the folder and the run context its JSON
    records, passed on to ``common.save``) and returns its
    fitted numbers; theory curves it draws come from ``store.cached``. ``version`` numbers the
    layout of a run's results: raising it (when ``run`` returns other arrays) makes the runner
    recompute the stored runs. ``order`` places the experiment in ``python -m sims list``, in
    ``all`` and in the figures' report (ascending, ties by name; the default puts a new
    experiment last). ``more_figures`` names, with a one-line description each, the figures
    ``summarize`` saves besides the one named as the experiment (the report lists them after it).
    """

    name: str
    description: str
    configs: Callable[[Profile], list[Any]]
    run: Callable[[Any, np.random.SeedSequence], dict[str, np.ndarray]]
    summarize: Callable[[pd.DataFrame, FigureDir, Store], dict]
    version: int = 1
    order: int = 1000
    more_figures: tuple[tuple[str, str], ...] = ()


#: metadata of a config field added after runs were stored (``field(default=..., metadata=ADDED_LATER)``):
#: at its default the field is left out of ``config_dict``, so the runs stored before it existed keep
#: their keys and random streams, and nothing computed is lost by adding it
ADDED_LATER = {"added_later": True}


def config_dict(config) -> dict:
    """A run's config as a dict of its fields and its type's name: what names its result (its key
    and its random stream) and what the store records. A field marked ``ADDED_LATER`` appears only
    when it differs from its default."""
    fields = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        if f.metadata.get("added_later") and fields[f.name] == f.default:
            del fields[f.name]
    return {"type": type(config).__name__, **fields}
