"""PyTorch networks (convolutional, BatchNorm, residual) behind the package's network protocol.

A ``TorchNetwork`` holds a ``torch.nn.Module`` in float64 (default: outputs equal to rounding,
barriers of exact copies exactly zero) or float32 (``Precision``: 2-4 times faster on CPU,
``benchmarks/bench_dtype.py``), the shape of one input (channels, then length or height and
width) and a permutation specification over the module's state-dict names, so that ``match``,
``permute``, ``interpolate`` and the barriers treat it like the package's own networks. Inputs
are rows of flattened examples, X of shape (n, prod(shape)); outputs and activations are
returned in float64 whatever the network's precision.

Permutation specifications (Git Re-Basin's, with state-dict names as parameters):

* a channel c of ``Conv1d``/``Conv2d``/``Linear`` layer l is a unit: P_l acts on that layer's
  ``weight`` and ``bias`` along axis 0 and on the next such layer's ``weight`` along axis 1
  (a convolution kernel's (out, in, k...) layout);
* ``BatchNorm`` after layer l: P_l acts on its ``weight``, ``bias``, ``running_mean`` and
  ``running_var`` (the running statistics permuted, not compared by weight matching);
* a residual stream (ResNet): one permutation shared by every tensor added to the stream in a
  stage (stem or shortcut output, each block's second convolution and BatchNorm) and by every
  layer reading it (``twolayer.deep.architectures``).

Any module ``torch.fx`` can trace gets its specification inferred from its graph
(``twolayer.deep.trace``: residual streams, LayerNorm, GroupNorm, depthwise convolutions); a
module may instead give its own with a method ``permutation_spec()`` returning (spec, taps).

Activations of a channel, for activation matching, are that channel's outputs at every position
(Git Re-Basin's treatment of convolutions): (n, C, L) -> (n L, C); taps name each module read
with its feature axis (1 for convolutions, the last for ``Linear`` layers on sequences).

BatchNorm after interpolation: the interpolated running statistics are not the statistics of the
interpolated network's pre-activations, which inflates barriers (Jordan et al. 2023); the remedy,
``with_batch_stats(X)``, recomputes them on data and is on by default in ``twolayer.barrier``.

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
K. Jordan, H. Sedghi, O. Saukh, R. Entezari, B. Neyshabur. REPAIR: REnormalizing Permuted
Activations for Interpolation Repair. ICLR 2023. arXiv:2211.08403.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from ..network import NetworkKind
from ..objective import Classification
from ..output_loss import squared_error, torch_classification_loss
from ..permutation import PermutationSpec
from ..validation import check_array

#: rows per forward pass when evaluating (bounds memory; results do not depend on it)
EVAL_BATCH = 2048

#: permutation name -> the (module name, feature axis) pairs whose outputs are its units' activations
Taps = Mapping[str, tuple[tuple[str, int], ...]]


class Precision(Enum):
    """The floating-point type a PyTorch network is trained and evaluated in."""

    FLOAT64 = "float64"  #: the default: outputs of permuted copies equal to rounding (1e-12)
    FLOAT32 = "float32"  #: faster (2-4 x on CPU), rounding ~1e-7 relative

    @classmethod
    def of(cls, value) -> Precision:
        """``value`` as a Precision: a member, "float32"/"float64", a NumPy or a torch dtype; anything
        else is a ``ValueError`` naming the field ``dtype``."""
        if isinstance(value, cls):
            return value
        if value is None:
            raise ValueError("dtype must be one of 'float64', 'float32' (or their NumPy / torch types); got None")
        name = str(value).removeprefix("torch.")
        try:
            name = np.dtype(value).name
        except TypeError:
            pass
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"dtype must be one of 'float64', 'float32' (or their NumPy / torch types); "
                             f"got {value!r}") from None

    @property
    def torch(self):
        return getattr(torch_module(), self.value)

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)


def module_copy(module, tensors: Mapping[str, object] | None = None):
    """A copy of a ``torch.nn.Module`` that shares no state with it, built in one walk over its
    submodules instead of ``copy.deepcopy``'s walk over every attribute (7 times faster for the
    small networks of the experiments, whose barriers evaluate hundreds of copies).

    Every submodule is a new object whose attribute dictionaries are copied one level deep (hooks
    registered on the copy stay on the copy; the rest, such as a traced module's graph, is shared
    read-only), every parameter and buffer a new tensor: ``tensors[name]`` where the state-dict name
    is given, else a clone. A submodule or parameter reached twice (shared or tied) is copied once
    and stays shared, as under ``deepcopy``.

    Parameters
    ----------
    module : torch.nn.Module
    tensors : dict state-dict name -> torch.Tensor, optional
        Replacements, used as they are (not copied); their shapes are the caller's to match.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> twin = module_copy(net, {"0.bias": torch.zeros(3)})
    >>> twin[0].weight is net[0].weight, torch.equal(twin[0].weight, net[0].weight), twin[0].bias.tolist()
    (False, True, [0.0, 0.0, 0.0])
    """
    torch = torch_module()
    tensors = {} if tensors is None else tensors
    copies: dict[int, object] = {}

    def tensor(value, name: str, parameter: bool):
        if value is None:
            return None
        if id(value) not in copies:
            data = tensors[name] if name in tensors else value.detach().clone()
            copies[id(value)] = torch.nn.Parameter(data, value.requires_grad) if parameter else data
        return copies[id(value)]

    def walk(mod, prefix: str):
        if id(mod) in copies:
            return copies[id(mod)]
        new = object.__new__(type(mod))  # not type(mod).__new__: a traced module would make itself a new class
        copies[id(mod)] = new
        state = {k: v.copy() if isinstance(v, dict) else v for k, v in mod.__dict__.items()}
        state["_parameters"] = {k: tensor(v, prefix + k, True) for k, v in mod._parameters.items()}
        state["_buffers"] = {k: tensor(v, prefix + k, False) for k, v in mod._buffers.items()}
        state["_modules"] = {k: None if c is None else walk(c, f"{prefix}{k}.") for k, c in mod._modules.items()}
        new.__dict__ = state
        return new

    return walk(module, "")


def torch_module():
    """The ``torch`` package, or a ``ValueError`` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ValueError("PyTorch networks need torch: pip install -e '.[torch]'") from None
    return torch


@dataclass(frozen=True, eq=False)
class TorchNetwork:
    """A PyTorch module with a permutation specification.

    Parameters
    ----------
    module : torch.nn.Module
        Converted to ``dtype`` on construction, not copied (use ``from_torch`` to copy).
    input_shape : tuple of int
        One example's shape; X rows hold prod(input_shape) features.
    spec : PermutationSpec
        Over the names of ``module.state_dict()``.
    taps : dict permutation name -> tuple of (module name, feature axis)
        The modules whose outputs are the activations of that permutation's units.
    dtype : Precision, "float64" (default) or "float32"
        What the module is trained and evaluated in.
    """

    module: object
    input_shape: tuple[int, ...]
    spec: PermutationSpec
    taps: Taps
    dtype: Precision | str = Precision.FLOAT64
    kind: ClassVar[NetworkKind] = NetworkKind.TORCH

    def __post_init__(self):
        torch = torch_module()
        if not isinstance(self.module, torch.nn.Module):
            raise ValueError(f"module must be a torch.nn.Module; got {type(self.module).__name__}")
        shape = tuple(int(s) for s in self.input_shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"input_shape must be positive sizes; got {self.input_shape}")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "dtype", Precision.of(self.dtype))
        self.module.to(self.dtype.torch).eval()
        names = set(self.module.state_dict())
        for perm, pairs in self.spec.axes.items():
            for param, _ in pairs:
                if param not in names:
                    raise ValueError(f"permutation {perm!r} names {param!r}, which the module does not have")
        modules = dict(self.module.named_modules())
        for perm, taps in self.taps.items():
            bad = [t for t in taps if not (isinstance(t, tuple) and len(t) == 2 and t[0] in modules)]
            if perm not in self.spec.axes or bad:
                raise ValueError(f"taps of {perm!r} must be (module name, feature axis) pairs of the network; "
                                 f"got {taps}")

    # shapes
    @property
    def in_features(self) -> int:
        return math.prod(self.input_shape)

    @functools.cached_property
    def out_features(self) -> int:
        return int(self(np.zeros((1, self.in_features))).shape[1])

    @property
    def has_batch_norm(self) -> bool:
        torch = torch_module()
        return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.module.modules())

    # the network protocol of ``twolayer.network``
    @property
    def structure(self) -> tuple:
        return (type(self.module).__name__, self.input_shape, self.dtype.value,
                tuple((k, tuple(v.shape)) for k, v in self.module.state_dict().items()))

    def arrays(self) -> dict[str, np.ndarray]:
        """The floating-point entries of the state dict (parameters and BatchNorm statistics)."""
        return {k: v.detach().numpy().copy() for k, v in self.module.state_dict().items() if v.is_floating_point()}

    def with_arrays(self, arrays: Mapping[str, np.ndarray]) -> TorchNetwork:
        torch = torch_module()
        state = self.module.state_dict()
        missing = [k for k, v in state.items() if v.is_floating_point() and k not in arrays]
        if missing:
            raise ValueError(f"arrays lacks the network's entries {missing[:3]}{' ...' if len(missing) > 3 else ''}")
        tensors = {k: torch.as_tensor(np.array(arrays[k], dtype=self.dtype.numpy)).reshape(v.shape)
                   for k, v in state.items() if v.is_floating_point()}
        return self._around(module_copy(self.module, tensors))

    def copy(self) -> TorchNetwork:
        """An independent copy (its own module)."""
        return self._around(module_copy(self.module))

    def _around(self, module) -> TorchNetwork:
        """This network around ``module``, a copy of its own module (same names, shapes and
        precision), in evaluation mode; the construction's checks hold already and are not repeated
        (they cost as much as the copy)."""
        twin = object.__new__(TorchNetwork)
        for name in ("input_shape", "spec", "taps", "dtype"):
            object.__setattr__(twin, name, getattr(self, name))
        if "out_features" in self.__dict__:  # computed by a forward pass: the copy has the same layers
            twin.__dict__["out_features"] = self.__dict__["out_features"]
        object.__setattr__(twin, "module", module.eval())
        return twin

    def astype(self, dtype: Precision | str) -> TorchNetwork:
        """A copy in another precision (``Precision``): float32 for speed, float64 for exactness.

        Examples
        --------
        >>> from twolayer import vgg
        >>> vgg((1, 16), 3, width=0.25).astype("float32").arrays()["0.weight"].dtype
        dtype('float32')
        """
        return TorchNetwork(module_copy(self.module), self.input_shape, self.spec, self.taps, Precision.of(dtype))

    def permutation_spec(self) -> PermutationSpec:
        return self.spec

    def _batches(self, X: np.ndarray):
        torch = torch_module()
        X = check_array("X", X, 2)
        if X.shape[1] != self.in_features:
            raise ValueError(f"X has {X.shape[1]} features; the network takes {self.in_features} "
                             f"(inputs of shape {self.input_shape})")
        for start in range(0, X.shape[0], EVAL_BATCH):
            rows = np.ascontiguousarray(X[start:start + EVAL_BATCH], dtype=self.dtype.numpy)
            yield torch.from_numpy(rows).reshape(-1, *self.input_shape)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Outputs (logits) of shape (n, outputs), the network in evaluation mode."""
        torch = torch_module()
        self.module.eval()
        with torch.no_grad():
            return np.concatenate([self.module(x).numpy() for x in self._batches(X)]).astype(np.float64)

    def hidden(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{permutation: activations of shape (samples, units)}: every tap's output with its feature
        axis last and the examples and positions as samples, the taps of one permutation stacked."""
        torch = torch_module()
        modules = dict(self.module.named_modules())
        seen: dict[tuple[str, int], list[np.ndarray]] = {t: [] for taps in self.taps.values() for t in taps}

        def hook(name):
            def keep(_module, _inputs, output):
                h = output.detach()
                for (module, axis), found in seen.items():
                    if module == name:
                        found.append(torch.movedim(h, axis, -1).reshape(-1, h.shape[axis]).numpy().astype(np.float64))
            return keep

        handles = [modules[name].register_forward_hook(hook(name)) for name in {t[0] for t in seen}]
        try:
            self(X)
        finally:
            for handle in handles:
                handle.remove()
        return {perm: np.concatenate([np.concatenate(seen[t]) for t in taps]) for perm, taps in self.taps.items()}

    def _unit_layer(self, name: str) -> str:
        """The one Linear/Conv module whose output channels are permutation ``name``'s units."""
        owners = [p[: -len(".weight")] for p, axis in self.spec.axes[name] if axis == 0 and p.endswith(".weight")]
        if len(owners) != 1:
            raise ValueError(f"permutation {name!r} is written by {len(owners)} layers (a residual stream): REPAIR "
                             "needs one layer per unit")
        return owners[0]

    def pre_activations(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{permutation: outputs of the layer producing its units, channel axis last, examples and
        positions as samples} (networks without BatchNorm: the units' pre-activations)."""
        torch = torch_module()
        layers = {name: self._unit_layer(name) for name in self.spec.names}
        modules = dict(self.module.named_modules())
        seen: dict[str, list[np.ndarray]] = {name: [] for name in layers}

        def hook(name):
            def keep(_module, _inputs, output):
                h = output.detach()
                seen[name].append(torch.movedim(h, 1, -1).reshape(-1, h.shape[1]).numpy().copy())
            return keep

        handles = [modules[layer].register_forward_hook(hook(name)) for name, layer in layers.items()]
        try:
            self(X)
        finally:
            for handle in handles:
                handle.remove()
        return {name: np.concatenate(parts) for name, parts in seen.items()}

    def with_unit_affine(self, name: str, scale: np.ndarray, shift: np.ndarray) -> TorchNetwork:
        """The network whose layer producing permutation ``name``'s units outputs scale_c z_c + shift_c
        per channel c (its weight scaled along axis 0, bias <- scale bias + shift)."""
        layer = self._unit_layer(name)
        arrays = self.arrays()
        weight = arrays[f"{layer}.weight"]
        arrays[f"{layer}.weight"] = weight * np.asarray(scale).reshape(-1, *([1] * (weight.ndim - 1)))
        if f"{layer}.bias" not in arrays:
            if np.any(shift != 0):
                raise ValueError(f"layer {layer} has no bias: repair='repair' cannot shift its units (use 'rescale')")
        else:
            arrays[f"{layer}.bias"] = arrays[f"{layer}.bias"] * scale + shift
        return self.with_arrays(arrays)

    def with_batch_stats(self, X: np.ndarray, copy: bool = True) -> TorchNetwork:
        """A copy (the network itself with ``copy=False``, for one nobody else holds: a path's
        intermediate network) whose BatchNorm running statistics are the mean and unbiased variance of each
        BatchNorm's input over X (examples and positions pooled per channel), the network run in
        training mode as when it is trained (each BatchNorm normalising by its batch's own
        statistics), over batches of ``EVAL_BATCH`` rows pooled exactly (Chan et al.'s update);
        the network is otherwise unchanged."""
        torch = torch_module()
        net = self.copy() if copy else self
        norms = [m for m in net.module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return net
        moments = {id(m): [0, 0.0, 0.0] for m in norms}  # count, mean, sum of squared deviations

        def pool(module, inputs):
            x = inputs[0].detach()
            axes = [a for a in range(x.ndim) if a != 1]
            n = x.numel() // x.shape[1]
            mean = x.mean(axes)
            m2 = ((x - mean.reshape(1, -1, *([1] * (x.ndim - 2)))) ** 2).sum(axes)
            acc = moments[id(module)]
            total = acc[0] + n
            delta = mean - acc[1]
            acc[1] = acc[1] + delta * (n / total)
            acc[2] = acc[2] + m2 + delta**2 * (acc[0] * n / total)
            acc[0] = total

        handles = [m.register_forward_pre_hook(pool) for m in norms]
        net.module.train()
        try:
            with torch.no_grad():
                for x in net._batches(X):
                    net.module(x)
                for m in norms:
                    count, mean, m2 = moments[id(m)]
                    m.running_mean.copy_(mean)
                    m.running_var.copy_(m2 / max(count - 1, 1))
        finally:
            net.module.eval()
            for handle in handles:
                handle.remove()
        return net

    def second_moments(self, objective) -> dict[str, np.ndarray]:
        """Not defined for PyTorch networks: a convolution's input is not one vector per example."""
        raise ValueError("method='weights_cov' needs each layer's input as one vector per example, which a "
                         "TorchNetwork does not give; use method='weights' or 'activations'")

    def empirical_loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """1/(2n) sum_s (f(x_s) - y_s)^2 (one output)."""
        return squared_error(self(X), y)

    def loss_and_grads(self, objective) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, gradients of the parameters keyed like ``arrays()``) under a ``Classification``
        objective, by autograd on all its data at once, the module in evaluation mode."""
        if not isinstance(objective, Classification):
            raise ValueError(f"the gradient of a TorchNetwork is taken under a Classification objective; "
                             f"got {type(objective).__name__}")
        torch = torch_module()
        module = self.copy().module
        params = dict(module.named_parameters())
        module.zero_grad()
        x = torch.from_numpy(np.ascontiguousarray(objective.X, dtype=self.dtype.numpy)).reshape(-1, *self.input_shape)
        loss = torch_classification_loss(module(x), torch.from_numpy(objective.y), objective.loss_kind)
        loss.backward()
        return float(loss.detach()), {k: p.grad.numpy().copy() for k, p in params.items() if p.grad is not None}


def norm_entries(prefix: str) -> list[tuple[str, int]]:
    """The (name, axis 0) pairs of a BatchNorm module's four per-channel arrays."""
    return [(f"{prefix}.{k}", 0) for k in ("weight", "bias", "running_mean", "running_var")]


def norm_statistics(prefixes) -> frozenset[str]:
    """Names of the running statistics of the BatchNorm modules ``prefixes``."""
    return frozenset(f"{p}.{k}" for p in prefixes for k in ("running_mean", "running_var"))
