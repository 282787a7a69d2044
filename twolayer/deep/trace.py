"""Permutation specifications of PyTorch modules inferred by tracing their graph (``torch.fx``).

The module is traced symbolically (PyTorch's own layers are leaves, everything written in a
``forward`` is followed), its tensors' shapes propagated on one example batch, and every tensor
of the graph is given the **stream** its permuted axis belongs to, if any. A stream is a
union-find class of feature axes that must share one permutation:

* a ``Linear`` or ``Conv`` layer (``groups = 1``) starts a new stream: its ``weight`` (axis 0) and
  ``bias``; the stream it reads acts on its ``weight`` along axis 1;
* elementwise functions (ReLU, GELU, tanh, dropout...), pooling, a depthwise convolution
  (``groups = in = out channels``: its ``weight`` and ``bias`` along axis 0), BatchNorm
  (affine parameters and running statistics, the statistics unscored), LayerNorm (affine
  parameters along the feature axis, which must be one of the normalised axes) and GroupNorm
  keep the stream of their input; GroupNorm constrains its permutation to moves within each
  of its groups of channels (``PermutationSpec.blocks``);
* an elementwise operation of several tensors (a residual addition, a gate) ties their streams
  into one (Git Re-Basin's one permutation per residual stream); a parameter or buffer entering
  such an operation is permuted with the stream along its broadcast axis;
* reshapes (``flatten``, ``view``, ``reshape``), ``transpose``/``permute`` and reductions over
  other axes move the feature axis; a reshape that mixes it with another axis (flattening
  channels of spatial size > 1), a reduction over it keeps none (the result is invariant);
  concatenation along other axes ties the streams;
* the network's input and output are not permuted: a stream tied to either is dropped.

Anything else (``cat`` along the features, grouped convolutions, attention's ``matmul``, an unknown
layer) is refused with the name of the node. Streams become permutations ``P1``, ``P2``... in the
order of the graph. Activation matching reads, for each permutation, the outputs of its
activation-function layers (a layer called once), else of its normalisation layers, else of its
weighted layers.

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
J. K. Reed et al. torch.fx: Practical program capture and transformation for deep learning in
Python. MLSys 2022. arXiv:2112.08429.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from ..permutation import PermutationSpec
from .torchnet import Taps, torch_module

#: the stream of the network's input and output: never permuted
FIXED = 0


@dataclass(frozen=True)
class _Feat:
    """A tensor whose axis ``axis`` belongs to stream ``var`` (axis None: the input, not permuted)."""

    var: int
    axis: int | None


@dataclass(frozen=True)
class _Param:
    """A parameter or buffer of the module read in the graph (``get_attr``)."""

    name: str


class _Streams:
    """Union-find of streams, each with the (array, axis) pairs it permutes."""

    def __init__(self):
        self.parent = [FIXED]
        self.entries: list[list[tuple[str, int]]] = [[]]
        self.blocks = [1]
        self.owner: dict[tuple[str, int], int] = {}
        self.unscored: set[str] = set()

    def new(self) -> int:
        self.parent.append(len(self.parent))
        self.entries.append([])
        self.blocks.append(1)
        return len(self.parent) - 1

    def find(self, v: int) -> int:
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def union(self, a: int, b: int, where: str) -> int:
        a, b = self.find(a), self.find(b)
        if a == b:
            return a
        if b == FIXED or (a != FIXED and b < a):
            a, b = b, a
        self.parent[b] = a
        self.entries[a] += self.entries[b]
        self.blocks[a] = self._blocks(self.blocks[a], self.blocks[b], where)
        return a

    def add(self, v: int, param: str, axis: int, where: str, statistic: bool = False) -> None:
        key = (param, axis)
        if key in self.owner:  # a layer used twice: its streams are one
            self.union(self.owner[key], v, where)
            return
        self.owner[key] = v
        self.entries[self.find(v)].append(key)
        if statistic:
            self.unscored.add(param)

    def constrain(self, v: int, groups: int, where: str) -> None:
        root = self.find(v)
        self.blocks[root] = self._blocks(self.blocks[root], groups, where)

    @staticmethod
    def _blocks(a: int, b: int, where: str) -> int:
        if max(a, b) % min(a, b):
            raise ValueError(f"node {where}: groups of {a} and {b} on one stream are not nested; no permutation "
                             "within both is a symmetry the matching can search")
        return max(a, b)


def _layer_kinds():
    nn = torch_module().nn
    elementwise = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
                   nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh)
    passive = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout,
               nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
               nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
    return elementwise, passive


#: ``torch`` functions and tensor methods that act elementwise on one tensor (or keep its channels)
_UNARY = {"relu", "relu6", "gelu", "silu", "mish", "tanh", "sigmoid", "elu", "selu", "leaky_relu", "softplus",
          "hardswish", "hardtanh", "dropout", "neg", "abs", "exp", "log", "sqrt", "rsqrt", "square", "clamp",
          "contiguous", "clone", "float", "double", "to", "type_as", "softmax", "log_softmax",
          "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
          "adaptive_max_pool1d", "adaptive_max_pool2d", "relu_", "sigmoid_", "tanh_"}
#: elementwise operations of several tensors (broadcasting)
_BINARY = {"add", "sub", "mul", "truediv", "div", "iadd", "isub", "imul", "itruediv", "add_", "sub_", "mul_",
           "div_", "maximum", "minimum", "where", "pow"}
_REDUCE = {"mean", "sum", "amax", "amin", "var", "std", "logsumexp"}
_RESHAPE = {"flatten", "view", "reshape", "squeeze", "unsqueeze"}
#: questions about a tensor's shape or type: their answers are not permuted
_QUERIES = {"size", "getattr", "dim", "numel", "type", "is_floating_point"}
#: preference of taps: activation layers, then normalisation layers, then weighted layers
_ACTIVATION_RANK, _NORM_RANK, _WEIGHTED_RANK = 0, 1, 2


def _name(target) -> str:
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return name.lstrip("_") if name.startswith("__") else name


def _shape(node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


class _Tracer:
    """One pass over the traced graph (module docstring)."""

    def __init__(self, graph_module, owner: str):
        self.gm = graph_module
        self.owner = owner
        self.modules = dict(graph_module.named_modules())
        self.streams = _Streams()
        self.value: dict = {}
        self.taps: list[tuple[int, int, str, int]] = []  # (stream, rank, module, axis)
        self.calls: dict[str, int] = {}
        self.elementwise, self.passive = _layer_kinds()

    # helpers
    def refuse(self, node, why: str):
        if node.op == "call_module":
            what = f"layer {node.target!r} ({type(self.modules[node.target]).__name__})"
        else:
            what = f"node {node.name!r} ({_name(node.target)})"
        raise ValueError(f"{self.owner}: {what} {why}")

    def live(self, feat) -> bool:
        return isinstance(feat, _Feat) and self.streams.find(feat.var) != FIXED

    def feats(self, node) -> list[_Feat]:
        found = []
        for arg in node.all_input_nodes:
            if isinstance(self.value.get(arg), _Feat):
                found.append(self.value[arg])
        return found

    def only_input(self, node) -> _Feat | None:
        feats = self.feats(node)
        if any(isinstance(self.value.get(a), _Param) for a in node.all_input_nodes):
            self.refuse(node, "reads a parameter directly; use a layer (nn.Linear, nn.Conv...) for it")
        if len({(self.streams.find(f.var), f.axis) for f in feats}) > 1:
            self.refuse(node, "reads several permuted tensors")
        return feats[0] if feats else None

    def check_axis(self, node, feat: _Feat | None, axis: int, ndim: int) -> None:
        if self.live(feat) and feat.axis != axis % ndim:
            self.refuse(node, f"reads axis {axis % ndim}, but the permuted features are on axis {feat.axis}")

    # the walk
    def run(self) -> None:
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.value[node] = _Feat(FIXED, None) if _shape(node) is not None else None
            elif node.op == "get_attr":
                self.value[node] = _Param(node.target)
            elif node.op == "call_module":
                self.calls[node.target] = self.calls.get(node.target, 0) + 1
                self.value[node] = self.module(node, self.modules[node.target])
            elif node.op in ("call_function", "call_method"):
                self.value[node] = self.function(node, _name(node.target))
            elif node.op == "output":
                for feat in self.feats(node):
                    self.streams.union(feat.var, FIXED, node.name)

    def module(self, node, m):
        nn = torch_module().nn
        feat = self.only_input(node)
        shape_in = _shape(node.all_input_nodes[0]) if node.all_input_nodes else None
        ndim = len(shape_in) if shape_in else 0
        name = node.target
        if isinstance(m, nn.Linear) or (isinstance(m, nn.modules.conv._ConvNd) and not m.transposed):
            groups = getattr(m, "groups", 1)
            axis = -1 if isinstance(m, nn.Linear) else 1
            self.check_axis(node, feat, axis, ndim)
            if groups > 1:
                if not (groups == m.in_channels == m.out_channels):
                    self.refuse(node, f"is a grouped convolution (groups={groups}): a permutation within its "
                                      "groups is not one permutation per axis of its weight; only depthwise "
                                      "convolutions (groups = in = out channels) are supported")
                for p in ("weight", "bias"):
                    if getattr(m, p) is not None:
                        self.streams.add(feat.var if feat else FIXED, f"{name}.{p}", 0, node.name)
                return feat
            if feat is not None:
                self.streams.add(feat.var, f"{name}.weight", 1, node.name)
            out = self.streams.new()
            self.streams.add(out, f"{name}.weight", 0, node.name)
            if m.bias is not None:
                self.streams.add(out, f"{name}.bias", 0, node.name)
            axis_out = len(_shape(node)) - 1 if isinstance(m, nn.Linear) else 1
            self.taps.append((out, _WEIGHTED_RANK, name, axis_out))
            return _Feat(self.streams.find(out), axis_out)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            self.check_axis(node, feat, 1, ndim)
            self.norm(node, feat, m, 0, ("weight", "bias"), ("running_mean", "running_var"))
            return feat
        if isinstance(m, nn.LayerNorm):
            shape = tuple(m.normalized_shape)
            first = ndim - len(shape)
            if self.live(feat) and feat.axis < first:
                self.refuse(node, f"normalises axes {tuple(range(first, ndim))}, not the permuted features' "
                                  f"axis {feat.axis}")
            self.norm(node, feat, m, None if feat is None or feat.axis is None else feat.axis - first,
                      ("weight", "bias"), ())
            return feat
        if isinstance(m, nn.GroupNorm):
            self.check_axis(node, feat, 1, ndim)
            self.norm(node, feat, m, 0, ("weight", "bias"), ())
            if feat is not None:
                self.streams.constrain(feat.var, m.num_groups, node.name)
            return feat
        if isinstance(m, self.elementwise):
            if isinstance(m, nn.PReLU) and m.num_parameters > 1:
                self.check_axis(node, feat, 1, ndim)
                self.streams.add(feat.var if feat else FIXED, f"{name}.weight", 0, node.name)
            if feat is not None:
                self.taps.append((feat.var, _ACTIVATION_RANK, name, feat.axis))
            return feat
        if isinstance(m, self.passive):
            if getattr(m, "__module__", "").endswith("pooling"):
                self.check_axis(node, feat, 1, ndim)
            return feat
        if isinstance(m, nn.Flatten):
            return self.reshape(node, feat)
        self.refuse(node, "is not a supported layer (Linear, Conv1d/2d/3d, BatchNorm, LayerNorm, GroupNorm, "
                          "elementwise activations, pooling, Flatten, Dropout); give the module a "
                          "permutation_spec() method")

    def norm(self, node, feat, m, axis, affine, statistics) -> None:
        if feat is None or axis is None:
            return
        for p in affine:
            if getattr(m, p, None) is not None:
                self.streams.add(feat.var, f"{node.target}.{p}", axis, node.name)
        for p in statistics:
            if getattr(m, p, None) is not None:
                self.streams.add(feat.var, f"{node.target}.{p}", 0, node.name, statistic=True)
        self.taps.append((feat.var, _NORM_RANK, node.target, feat.axis))

    def function(self, node, name: str):
        out_shape = _shape(node)
        if name in _BINARY:
            return self.binary(node, out_shape)
        if name == "cat":
            return self.cat(node)
        inputs = [self.value.get(a) for a in node.all_input_nodes]
        if not any(isinstance(v, (_Feat, _Param)) for v in inputs):
            return None  # sizes, or tensors made from constants (not permuted)
        if out_shape is None:  # sizes, shapes, dtypes: not tensors
            if name in _QUERIES or not self.feats(node):
                return None
            self.refuse(node, "makes a tuple or a number from permuted tensors (e.g. max with dim); the "
                              "tracer follows tensors only")
        feat = self.only_input(node)
        if name in _UNARY:
            return feat
        if name in _RESHAPE:
            return self.reshape(node, feat)
        if name in _REDUCE:
            return self.reduce(node, feat, out_shape)
        if name in ("transpose", "permute", "movedim", "swapaxes"):
            return self.transpose(node, feat)
        self.refuse(node, "is not an operation the tracer can follow (elementwise, reshapes, reductions, "
                          "transposes, cat); give the module a permutation_spec() method")

    def binary(self, node, out_shape):
        if out_shape is None:
            return None
        n = len(out_shape)
        live, fixed, params = [], [], []
        for arg in node.all_input_nodes:
            v, s = self.value.get(arg), _shape(arg)
            if isinstance(v, _Feat) and v.axis is not None:
                live.append((v, v.axis + n - len(s)))
            elif isinstance(v, _Feat):
                fixed.append(s)
            elif isinstance(v, _Param):
                params.append((v.name, s))
            elif s is not None:
                fixed.append(s)  # a tensor the tracer cannot permute: it must broadcast along the features
        if not live:
            return _Feat(FIXED, None) if any(isinstance(self.value.get(a), _Feat) for a in node.all_input_nodes) \
                else None
        axes = {a for _, a in live}
        if len(axes) > 1:
            self.refuse(node, f"combines permuted tensors along different axes {sorted(axes)}")
        (axis,) = axes
        var = live[0][0].var
        for v, _ in live[1:]:
            var = self.streams.union(var, v.var, node.name)
        size = out_shape[axis]
        for s in fixed:
            j = axis - (n - len(s))
            if j >= 0 and s[j] == size > 1:
                var = self.streams.union(var, FIXED, node.name)
        for p, s in params:
            j = axis - (n - len(s))
            if j >= 0 and s[j] == size > 1:
                self.streams.add(var, p, j, node.name)
        return _Feat(self.streams.find(var), axis)

    def cat(self, node):
        tensors = node.args[0] if node.args else node.kwargs["tensors"]
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        feats = [self.value.get(t) for t in tensors]
        live = [f for f in feats if isinstance(f, _Feat) and f.axis is not None]
        if not live:
            return None
        ndim = len(_shape(node))
        if any(f.axis == dim % ndim for f in live):
            self.refuse(node, "concatenates along the permuted features: the result's permutation would act on "
                              "blocks of different streams")
        if len(live) < len(feats):
            self.refuse(node, "concatenates permuted with unpermuted tensors")
        var = live[0].var
        for f in live[1:]:
            var = self.streams.union(var, f.var, node.name)
        return _Feat(self.streams.find(var), live[0].axis)

    def reshape(self, node, feat):
        if feat is None or feat.axis is None:
            return feat
        s, t = _shape(node.all_input_nodes[0]), _shape(node)
        size, before, after = s[feat.axis], math.prod(s[:feat.axis]), math.prod(s[feat.axis + 1:])
        for b, c in enumerate(t):
            if c == size and math.prod(t[:b]) == before and math.prod(t[b + 1:]) == after:
                return _Feat(feat.var, b)
        if not self.live(feat):
            return _Feat(feat.var, None)
        self.refuse(node, f"reshapes {s} to {t}, mixing the permuted axis {feat.axis} ({size} features) with "
                          "others (a permutation would act on blocks): pool to size 1 first (AdaptiveAvgPool)")

    def reduce(self, node, feat, out_shape):
        if feat is None or feat.axis is None:
            return feat
        ndim = len(_shape(node.all_input_nodes[0]))
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        keep = len(out_shape) == ndim
        dims = range(ndim) if dims is None else ([dims] if isinstance(dims, int) else list(dims))
        dims = {d % ndim for d in dims}
        if feat.axis in dims:
            return None  # invariant under the permutation
        return _Feat(feat.var, feat.axis if keep else feat.axis - sum(d < feat.axis for d in dims))

    def transpose(self, node, feat):
        if feat is None or feat.axis is None:
            return feat
        ndim = len(_shape(node))
        args = [a for a in node.args[1:]]
        name = _name(node.target)
        if name == "permute":
            order = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
            return _Feat(feat.var, [d % ndim for d in order].index(feat.axis))
        if name == "movedim":
            src, dst = args[0] % ndim, args[1] % ndim
            order = [d for d in range(ndim) if d != src]
            order.insert(dst, src)
            return _Feat(feat.var, order.index(feat.axis))
        a, b = args[0] % ndim, args[1] % ndim
        return _Feat(feat.var, {a: b, b: a}.get(feat.axis, feat.axis))

    # the result
    def result(self) -> tuple[PermutationSpec, Taps]:
        streams = self.streams
        roots = sorted({streams.find(v) for v in range(1, len(streams.parent))} - {FIXED})
        roots = [r for r in roots if streams.entries[r]]
        names = {r: f"P{i + 1}" for i, r in enumerate(roots)}
        axes = {names[r]: tuple(dict.fromkeys(streams.entries[r])) for r in roots}
        blocks = {names[r]: streams.blocks[r] for r in roots if streams.blocks[r] > 1}
        chosen: dict[int, list[tuple[int, str, int]]] = {}
        for var, rank, module, axis in self.taps:
            root = streams.find(var)
            if root in names and not (rank == _ACTIVATION_RANK and self.calls.get(module, 0) > 1):
                chosen.setdefault(root, []).append((rank, module, axis))
        taps = {}
        for root, found in chosen.items():
            best = min(rank for rank, _, _ in found)
            taps[names[root]] = tuple(dict.fromkeys((m, a) for rank, m, a in found if rank == best))
        return PermutationSpec(axes, frozenset(streams.unscored), blocks), taps


def traced_spec(module, input_shape) -> tuple[PermutationSpec, Taps]:
    """The permutation specification and activation taps of any module ``torch.fx`` can trace
    (module docstring).

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int
        One example's shape; the graph's shapes are propagated on a batch of two.

    Returns
    -------
    (PermutationSpec, taps)
        Permutations ``P1``, ``P2``... over the names of ``module.state_dict()``; taps map each
        to the (module name, feature axis) pairs whose outputs are its units' activations.

    Examples
    --------
    >>> import torch
    >>> class Residual(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.inp, self.hidden, self.out = torch.nn.Linear(3, 4), torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         h = self.inp(x)
    ...         return self.out(h + torch.relu(self.hidden(h)))
    >>> spec, taps = traced_spec(Residual(), (3,))
    >>> spec.names, sorted(spec.axes["P1"])      # one stream: the residual addition ties them
    (('P1',), [('hidden.bias', 0), ('hidden.weight', 0), ('hidden.weight', 1), ('inp.bias', 0), ('inp.weight', 0), \
('out.weight', 1)])
    """
    torch = torch_module()
    from torch.fx import symbolic_trace
    from torch.fx.passes.shape_prop import ShapeProp

    owner = type(module).__name__
    try:
        graph_module = symbolic_trace(module)
    except Exception as exc:  # torch.fx raises many kinds (TraceError, TypeError, NotImplementedError...)
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{owner} cannot be traced by torch.fx ({why}); give it a permutation_spec() method "
                         "returning (PermutationSpec, taps)") from None
    probe = copy.deepcopy(graph_module).eval()
    dtype = next((p.dtype for p in module.parameters()), torch.float64)
    try:
        with torch.no_grad():
            ShapeProp(probe).propagate(torch.zeros((2, *input_shape), dtype=dtype))
    except Exception as exc:
        raise ValueError(f"{owner} does not run on inputs of shape {tuple(input_shape)}: "
                         f"{str(exc).strip().splitlines()[0]}") from None
    tracer = _Tracer(probe, owner)
    tracer.run()
    return tracer.result()

