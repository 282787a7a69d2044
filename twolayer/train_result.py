"""The outcome of ``twolayer.train``, one type for every network."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class TrainLoss(Enum):
    """What the losses of a ``TrainResult`` measure."""

    POPULATION = "population"  #: the exact population loss (students under ``Population``)
    EMPIRICAL = "empirical"    #: the loss on all the data (students under ``Empirical``)
    MINIBATCH = "minibatch"    #: the loss of the step's minibatch, before its update (MLP, PyTorch)


@dataclass
class TrainResult:
    """Outcome of ``train``.

    Attributes
    ----------
    net : Student, MLP or TorchNetwork
        The trained network.
    losses : array of shape (r,)
        The loss (``objective``) after ``loss_steps[j]`` updates.
    loss_steps : int array of shape (r,)
    steps : int
        Updates made (fewer than asked when the run stopped at ``tol`` or diverged).
    diverged, converged : bool
        The loss became non-finite or exploded (reported, never raised); it fell to ``tol``.
    objective : TrainLoss
        What ``losses`` measure.
    checkpoints : list of (step, network)
        Copies kept at the steps asked.
    """

    net: object
    losses: np.ndarray
    loss_steps: np.ndarray
    steps: int
    diverged: bool
    converged: bool
    objective: TrainLoss
    checkpoints: list[tuple[int, object]] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])
