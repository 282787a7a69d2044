"""Deep networks: the fully connected ``MLP`` (NumPy), ``TorchNetwork`` (any PyTorch module with a
permutation specification: convolutions, BatchNorm, residual blocks), the VGG- and ResNet-style
builders, and their minibatch SGD.

Matching, permuting, interpolating and barriers are the package's own (``twolayer.match``,
``twolayer.permute``, ``twolayer.barrier``...), through each network's permutation specification.
PyTorch is imported only when a ``TorchNetwork`` is made.
"""

from .architectures import resnet, vgg
from .mlp import MLP
from .torchnet import Precision, TorchNetwork
from .training import train_sgd

__all__ = ["MLP", "Precision", "TorchNetwork", "resnet", "train_sgd", "vgg"]
