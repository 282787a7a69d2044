"""twolayer: an exact, fast laboratory for linear mode connectivity of two-layer ReLU networks."""

from . import data
from .barriers import BarrierResult, barrier, barrier_modulo_permutation
from .condensation import SparsityReport, sparsity
from .hessian import population_hessian, sharpness
from .losses import (
    empirical_loss,
    empirical_loss_and_grad,
    population_gradient,
    population_loss,
    population_loss_and_grad,
)
from .matching import Matching, match, ot_interpolate
from .measures import neuron_measure, participation_dimension, wasserstein
from .model import Student, Teacher
from .paths import interpolate, permute
from .training import TrainResult, train, train_replicas

__all__ = [
    "BarrierResult", "Matching", "SparsityReport", "barrier", "barrier_modulo_permutation",
    "interpolate", "match", "neuron_measure", "ot_interpolate", "participation_dimension",
    "permute", "sparsity", "wasserstein",
    "Student", "Teacher", "TrainResult", "data", "empirical_loss", "empirical_loss_and_grad",
    "population_gradient", "population_hessian", "population_loss", "population_loss_and_grad", "sharpness",
    "train", "train_replicas",
]
