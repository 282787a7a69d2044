"""Deep fully connected ReLU networks: the ``MLP`` model and its minibatch SGD.

Matching, permuting, interpolating and barriers are the package's own (``twolayer.match``,
``twolayer.permute``, ``twolayer.barrier``...), through the MLP's permutation specification.
"""

from .mlp import MLP
from .training import MLPTrainResult, train_sgd

__all__ = ["MLP", "MLPTrainResult", "train_sgd"]
