"""twolayer: an exact, fast laboratory for linear mode connectivity of two-layer ReLU networks."""

from . import data
from .hessian import population_hessian
from .losses import (
    empirical_loss,
    empirical_loss_and_grad,
    population_gradient,
    population_loss,
    population_loss_and_grad,
)
from .model import Student, Teacher
from .training import TrainResult, train, train_replicas

__all__ = [
    "Student", "Teacher", "TrainResult", "data", "empirical_loss", "empirical_loss_and_grad",
    "population_gradient", "population_hessian", "population_loss", "population_loss_and_grad",
    "train", "train_replicas",
]
