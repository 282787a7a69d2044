"""twolayer: an exact, fast laboratory for linear mode connectivity of two-layer ReLU networks.

Networks: ``Teacher``, ``Student`` (two-layer, exact population loss), ``MLP`` (deep, with
biases) and ``TorchNetwork`` (any traceable PyTorch module: convolutional, BatchNorm,
LayerNorm, GroupNorm, residual; float64 or float32, ``Precision``; ``vgg``, ``resnet``,
``from_torch``, ``to_torch``). Objectives: ``Population``, ``Empirical``,
``Classification``. One API for all networks: ``train``, ``match``, ``permute``,
``interpolate``, ``barrier``, ``barrier_modulo_permutation``; pictures of the landscape (the
linear path, the plane through three networks) in ``twolayer.plot``.
"""

from . import data, plot
from .barriers import BarrierKind, BarrierResult, barrier, barrier_modulo_permutation, path_barrier
from .certify import Certificate, certified_barrier
from .condensation import SparsityReport, sparsity
from .convert import to_mlp, to_student
from .deep import MLP, Precision, TorchNetwork, resnet, vgg
from .hessian import population_hessian, sharpness
from .init import (
    INIT_SCHEMES,
    Init,
    LeCunNormal,
    MeanField,
    PhasePoint,
    PyTorchDefault,
    Regime,
    Scaling,
    SmallScale,
    init_scheme,
)
from .interop import from_torch, to_torch
from .laws import INPUT_LAWS, Gaussian, InputLaw, Sphere, input_law
from .losses import (
    empirical_loss,
    empirical_loss_and_grad,
    population_gradient,
    population_loss,
    population_loss_and_grad,
)
from .matching import METHODS, Matching, match
from .measures import neuron_measure, participation_dimension, wasserstein
from .merge import MergeResult, merge_many, merge_scores
from .model import Student, Teacher
from .network import Network, NetworkKind
from .objective import Classification, ClassificationLoss, Empirical, Objective, Population
from .paths import interpolate
from .permutation import PermutationSpec, permute
from .random import SeedLike, as_generator, child, child_seeds
from .repair import Repair, unit_moments
from .train_result import TrainLoss, TrainResult
from .training import Method, train, train_replicas
from .transport import ot_interpolate

__all__ = [
    "INIT_SCHEMES", "INPUT_LAWS", "METHODS", "Init", "LeCunNormal", "MeanField", "PhasePoint", "PyTorchDefault",
    "Regime", "Scaling", "SmallScale", "init_scheme",
    "MLP", "BarrierKind", "BarrierResult", "Certificate", "Classification",
    "ClassificationLoss", "Empirical", "Gaussian", "InputLaw", "MergeResult", "Matching", "Method",
    "Network", "NetworkKind",
    "Objective", "PermutationSpec", "Population", "Precision", "Repair", "SeedLike", "Sphere", "SparsityReport",
    "Student", "Teacher",
    "TorchNetwork", "TrainLoss", "TrainResult", "as_generator", "barrier", "barrier_modulo_permutation",
    "certified_barrier", "child", "child_seeds", "data", "empirical_loss", "empirical_loss_and_grad",
    "from_torch", "input_law", "interpolate", "match", "merge_many", "merge_scores", "neuron_measure", "ot_interpolate",
    "participation_dimension", "path_barrier", "permute", "plot", "population_gradient", "population_hessian",
    "population_loss", "population_loss_and_grad", "resnet", "sharpness", "sparsity", "to_mlp", "to_student",
    "to_torch", "train", "train_replicas", "unit_moments", "vgg", "wasserstein",
]
