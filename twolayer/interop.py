"""PyTorch in and out: networks trained elsewhere brought into the package, and back.

``from_torch`` turns an ``nn.Sequential`` of ``Linear``/``ReLU`` layers (biases allowed), or
the state dict of one, into the package's ``MLP`` (the package's own fully connected network,
measured faster than PyTorch for small MLPs in ``benchmarks/bench_mlp.py``); any other module
(convolutions, normalisation layers, residual blocks, a ``forward`` of its own) becomes a
``TorchNetwork`` whose permutation specification is traced from its graph
(``twolayer.deep.trace``) unless the module gives its own (``permutation_spec()``). ``to_torch``
is the inverse. Float64 by default, so that a network's outputs equal PyTorch's to rounding;
``dtype="float32"`` keeps a ``TorchNetwork`` in float32 (faster, rounding ~1e-7).

``match``, ``barrier``, ``barrier_modulo_permutation`` and ``train`` accept PyTorch modules
directly and convert them with ``as_network``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping

import numpy as np

from .deep.mlp import MLP
from .deep.torchnet import Precision, TorchNetwork, torch_module
from .deep.trace import traced_spec


def _is_module(obj) -> bool:
    torch = sys.modules.get("torch")  # a module object exists only if torch was imported
    return torch is not None and isinstance(obj, torch.nn.Module)


def _array(value) -> np.ndarray:
    """A tensor or array-like as a float64 NumPy array."""
    return np.asarray(value.detach().double().numpy() if hasattr(value, "detach") else value, dtype=float)


def _mlp_from_state_dict(state: Mapping) -> MLP:
    keys = list(state)
    weights = [k for k in keys if k.endswith("weight")]
    arrays = []
    for k in weights:
        W = _array(state[k])
        if W.ndim != 2:
            raise ValueError(f"state dict entry {k!r} has shape {W.shape}: only Linear layers (2-D weights) make an "
                             "MLP; load the state dict into its module and pass the module")
        bias = k[: -len("weight")] + "bias"
        b = state.get(bias)
        arrays += [W, None if b is None else _array(b)]
    extra = sorted(set(keys) - set(weights) - {k[: -len("weight")] + "bias" for k in weights})
    if extra:
        raise ValueError(f"state dict entry {extra[0]!r} is not a Linear weight or bias; pass the module instead")
    if not arrays:
        raise ValueError("the state dict holds no Linear weights")
    return MLP.from_arrays(*arrays)


def _is_plain_mlp(module) -> bool:
    torch = torch_module()
    nn = torch.nn
    layers = [m for m in module.children() if not isinstance(m, (nn.Identity, nn.Flatten))]
    if not isinstance(module, nn.Sequential) or not layers or not isinstance(layers[-1], nn.Linear):
        return False
    kinds = ["L" if isinstance(m, nn.Linear) else "R" if isinstance(m, nn.ReLU) else "?" for m in layers]
    return "?" not in kinds and "".join(kinds) == "LR" * (len(kinds) // 2) + "L"


def from_torch(obj, input_shape=None, dtype: Precision | str = Precision.FLOAT64) -> MLP | TorchNetwork:
    """The package's network for a PyTorch module or state dict (copied).

    Parameters
    ----------
    obj : torch.nn.Module or mapping name -> tensor
        An ``nn.Sequential`` alternating ``Linear`` and ``ReLU`` (or its state dict: ``Linear``
        weights and biases in order) gives an ``MLP`` (float64). Any other module gives a
        ``TorchNetwork`` whose permutation specification is traced with ``torch.fx`` (residual
        streams, BatchNorm, LayerNorm, GroupNorm, depthwise convolutions:
        ``twolayer.deep.trace``), or read from the module's method ``permutation_spec()``
        returning (PermutationSpec, taps) when it has one.
    input_shape : tuple of int, optional
        One example's shape, needed for a ``TorchNetwork`` (e.g. (1, 40) for MNIST-1D).
    dtype : "float64" (default) or "float32"
        The precision of a ``TorchNetwork`` (``Precision``); an MLP is float64.

    Examples
    --------
    >>> import torch, numpy as np, twolayer as tl
    >>> seq = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).double()
    >>> net = tl.from_torch(seq)
    >>> X = np.random.default_rng(0).standard_normal((4, 3))
    >>> bool(np.allclose(net(X), seq(torch.from_numpy(X)).detach().numpy(), rtol=0, atol=1e-12))
    True
    >>> class Residual(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.inp, self.block, self.out = torch.nn.Linear(3, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         h = self.inp(x)
    ...         return self.out(h + torch.relu(self.block(h)))
    >>> tl.from_torch(Residual(), (3,)).spec.names    # the residual stream and nothing else
    ('P1',)
    """
    precision = Precision.of(dtype)
    if isinstance(obj, Mapping):
        return _mlp_from_state_dict(obj)
    if not _is_module(obj):
        raise ValueError(f"obj must be a torch.nn.Module or a state dict; got {type(obj).__name__}")
    if _is_plain_mlp(obj) and precision is Precision.FLOAT64:
        return _mlp_from_state_dict(obj.state_dict())
    if input_shape is None:
        raise ValueError(f"input_shape is needed to bring in a {type(obj).__name__} (one example's shape, "
                         "e.g. (1, 40) for MNIST-1D)")
    module = copy.deepcopy(obj).to(precision.torch)
    if hasattr(module, "permutation_spec"):
        spec, taps = module.permutation_spec()
    else:
        spec, taps = traced_spec(module, tuple(input_shape))
    return TorchNetwork(module, tuple(input_shape), spec, taps, precision)


def to_torch(net: MLP | TorchNetwork):
    """A PyTorch module computing the same function: a float64 ``nn.Sequential(Linear, ReLU, ...,
    Linear)`` for an MLP, a copy of the module (in the network's precision) for a ``TorchNetwork``."""
    torch = torch_module()
    if isinstance(net, TorchNetwork):
        return copy.deepcopy(net.module)
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an MLP or a TorchNetwork; got {type(net).__name__}")
    layers = []
    for W, b in zip(net.weights, net.biases):
        linear = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def as_network(net, objective=None, input_shape=None):
    """``net`` itself, or, for a PyTorch module, ``from_torch(net)`` with ``input_shape`` when
    given, else the input shape of the objective's examples (``Classification.shape``)."""
    if not _is_module(net):
        return net
    return from_torch(net, getattr(objective, "shape", None) if input_shape is None else input_shape)
